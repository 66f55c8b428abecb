package auth_test

import (
	"io"
	"log/slog"
	"strconv"

	"github.com/latchkey/latchkey/internal/auth"
)

func sloggerTo(w io.Writer) *slog.Logger {
	return slog.New(auth.NewLogHandler(slog.NewTextHandler(w, nil)))
}

func itoa(i int) string { return strconv.Itoa(i) }
