package server

import (
	"context"

	"github.com/latchkey/latchkey/internal/notify"
)

// buildNotifier connects the notification channels (email, webhook) when
// any is configured: the hourly job sends expiry reminders through them,
// and leak reports notify the owners of the secrets they revoke.
func (a *App) buildNotifier(context.Context) error {
	c := a.Config
	if !c.Notify() {
		return nil
	}
	cfg := notify.Config{PublicURL: a.PublicURL, Logger: a.Logger.With("component", "notify")}
	if c.SMTPURL != "" {
		cfg.SMTP = &notify.SMTPConfig{URL: c.SMTPURL, From: c.SMTPFrom}
	}
	if c.WebhookURL != "" {
		cfg.Webhook = &notify.WebhookConfig{URL: c.WebhookURL, Secret: c.WebhookSecret}
	}
	n, err := notify.New(cfg)
	if err != nil {
		return err
	}
	a.Services.SetNotifier(n)
	a.closers = append(a.closers, n.Close)
	a.Logger.Info("notifications enabled", "channels", n.Channels())
	return nil
}
