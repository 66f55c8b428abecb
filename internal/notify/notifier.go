package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// errNoRecipient is what a channel returns when the notice has nobody to go
// to there (an owner without an email address): skipped, not failed.
var errNoRecipient = errors.New("no recipient")

// channel delivers notices one way (email, webhook).
type channel interface {
	name() string
	deliver(ctx context.Context, n Notice, link string) error
}

// Config selects the channels of a Notifier. A nil channel is not used.
type Config struct {
	SMTP    *SMTPConfig
	Webhook *WebhookConfig
	// PublicURL returns the base URL users reach the console at; notices
	// link to the token's page there. A function, because the listen
	// address may be known only after the Notifier is built.
	PublicURL func() string
	Logger    *slog.Logger
	// QueueSize bounds the notices Post may hold (default 256).
	QueueSize int
}

// Notifier delivers notices to every configured channel. It is safe for
// concurrent use.
type Notifier struct {
	channels  []channel
	publicURL func() string
	logger    *slog.Logger

	queue    chan Notice
	mu       sync.Mutex // guards closed and sends on queue
	closed   bool
	done     chan struct{}
	stopWork context.CancelFunc
	workCtx  context.Context
}

// postTimeout bounds the background delivery of one posted notice.
const postTimeout = 2 * time.Minute

// New builds a Notifier over the configured channels and starts the worker
// that delivers posted notices. It fails when a channel's configuration is
// invalid, or when none is configured.
func New(cfg Config) (*Notifier, error) {
	n := &Notifier{publicURL: cfg.PublicURL, logger: cfg.Logger}
	if n.logger == nil {
		n.logger = slog.Default()
	}
	if n.publicURL == nil {
		n.publicURL = func() string { return "" }
	}
	if cfg.SMTP != nil {
		ch, err := newEmail(*cfg.SMTP)
		if err != nil {
			return nil, err
		}
		n.channels = append(n.channels, ch)
	}
	if cfg.Webhook != nil {
		ch, err := newWebhook(*cfg.Webhook)
		if err != nil {
			return nil, err
		}
		n.channels = append(n.channels, ch)
	}
	if len(n.channels) == 0 {
		return nil, errors.New("notify: no channel configured; give an SMTP server or a webhook URL")
	}
	size := cfg.QueueSize
	if size <= 0 {
		size = 256
	}
	n.queue = make(chan Notice, size)
	n.done = make(chan struct{})
	n.workCtx, n.stopWork = context.WithCancel(context.Background())
	go n.work()
	return n, nil
}

// Channels names the configured channels: "email", "webhook".
func (n *Notifier) Channels() []string {
	out := make([]string, len(n.channels))
	for i, c := range n.channels {
		out[i] = c.name()
	}
	return out
}

// DeliveryError reports a notice that at least one channel failed to
// deliver. Delivered names the channels that did deliver it, so a caller
// can tell "nobody got it" (try again later) from "some got it".
type DeliveryError struct {
	Kind      Kind
	Failed    map[string]error // by channel name
	Delivered []string
}

// Error lists the failed channels and their errors.
func (e *DeliveryError) Error() string {
	names := make([]string, 0, len(e.Failed))
	for name := range e.Failed {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + ": " + e.Failed[name].Error()
	}
	return fmt.Sprintf("send %s notice: %s", e.Kind, strings.Join(parts, "; "))
}

// Unwrap returns the channels' errors.
func (e *DeliveryError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}

// Send delivers n to every channel now, in parallel, and returns nil when
// every channel delivered it or had nobody to deliver it to; otherwise a
// *DeliveryError.
func (n *Notifier) Send(ctx context.Context, nt Notice) error {
	if nt.ID == "" {
		nt.ID = uuid.Must(uuid.NewV7()).String()
	}
	if nt.At.IsZero() {
		nt.At = time.Now()
	}
	nt.At = nt.At.UTC()
	link := consoleURL(strings.TrimRight(n.publicURL(), "/"), nt)
	errs := make([]error, len(n.channels))
	var wg sync.WaitGroup
	for i, c := range n.channels {
		wg.Go(func() { errs[i] = c.deliver(ctx, nt, link) })
	}
	wg.Wait()
	de := &DeliveryError{Kind: nt.Kind, Failed: map[string]error{}}
	for i, c := range n.channels {
		log := n.logger.With("channel", c.name(), "kind", string(nt.Kind), "notice_id", nt.ID, "token_id", nt.Token.ID, "user_id", nt.Owner.ID)
		switch err := errs[i]; {
		case err == nil:
			de.Delivered = append(de.Delivered, c.name())
			log.Info("notice sent")
		case errors.Is(err, errNoRecipient):
			log.Debug("notice skipped: no recipient on this channel")
		default:
			de.Failed[c.name()] = err
			log.Warn("notice not sent", "err", err)
		}
	}
	if len(de.Failed) == 0 {
		return nil
	}
	return de
}

// Post queues n for delivery in the background and returns at once. When
// the queue is full or the Notifier is closed, n is dropped and logged.
func (n *Notifier) Post(nt Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		n.logger.Warn("notice dropped: notifier closed", "kind", string(nt.Kind), "token_id", nt.Token.ID)
		return
	}
	select {
	case n.queue <- nt:
	default:
		n.logger.Warn("notice dropped: queue full", "kind", string(nt.Kind), "token_id", nt.Token.ID)
	}
}

func (n *Notifier) work() {
	defer close(n.done)
	for nt := range n.queue {
		ctx, cancel := context.WithTimeout(n.workCtx, postTimeout)
		_ = n.Send(ctx, nt) // Send logs each channel's outcome
		cancel()
	}
}

// Close stops accepting posts and waits until the queued notices are
// delivered, or until ctx ends, when deliveries in flight are cancelled.
func (n *Notifier) Close(ctx context.Context) {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	select {
	case <-n.done:
	case <-ctx.Done():
		n.stopWork()
		<-n.done
	}
	n.stopWork()
}
