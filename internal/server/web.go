package server

import "context"

// mountWeb mounts the web console. (Wired by the console work.)
func (a *App) mountWeb(ctx context.Context) error { return nil }
