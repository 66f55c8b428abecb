package config

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"

	"github.com/latchkey/latchkey/internal/notify"
)

// readNotifySecrets fills the SMTP URL and the webhook secret from their
// files when they were not given directly.
func (c *Serve) readNotifySecrets() error {
	if c.SMTPURLFile != "" && c.SMTPURL == "" {
		b, err := os.ReadFile(c.SMTPURLFile)
		if err != nil {
			return fmt.Errorf("read --smtp-url-file: %w", err)
		}
		c.SMTPURL = strings.TrimSpace(string(b))
	}
	if c.WebhookSecretFile != "" && c.WebhookSecret == "" {
		b, err := os.ReadFile(c.WebhookSecretFile)
		if err != nil {
			return fmt.Errorf("read --webhook-secret-file: %w", err)
		}
		c.WebhookSecret = strings.TrimSpace(string(b))
	}
	return nil
}

// minWebhookSecret is the shortest webhook secret accepted.
const minWebhookSecret = 16

// validateNotify checks the notification options. Errors never repeat the
// SMTP URL, which holds a password.
func (c *Serve) validateNotify() error {
	switch {
	case c.SMTPURL != "":
		if _, err := notify.ParseSMTPURL(c.SMTPURL); err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		if c.SMTPFrom == "" {
			return errors.New("--smtp-from is required with --smtp-url: the sender address of notification emails, e.g. latchkey@example.com")
		}
		if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			return fmt.Errorf("--smtp-from %q is not an email address; give one like latchkey@example.com or \"Latchkey <latchkey@example.com>\"", c.SMTPFrom)
		}
	case c.SMTPFrom != "":
		return errors.New("--smtp-from needs --smtp-url (or --smtp-url-file) to send through")
	}
	switch {
	case c.WebhookURL != "":
		if err := notify.ValidateWebhookURL(c.WebhookURL); err != nil {
			return fmt.Errorf("--webhook-url: %w", err)
		}
		if len(c.WebhookSecret) < minWebhookSecret {
			return fmt.Errorf("--webhook-secret (or --webhook-secret-file) is required with --webhook-url and must be at least %d characters (32 random ones recommended, e.g. from `openssl rand -hex 32`): receivers check it to trust the requests", minWebhookSecret)
		}
	case c.WebhookSecret != "":
		return errors.New("--webhook-secret needs --webhook-url: where to send the signed notices")
	}
	return nil
}

// Notify reports whether any notification channel is configured.
func (c *Serve) Notify() bool { return c.SMTPURL != "" || c.WebhookURL != "" }
