package config

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/service"
)

// durationValue is the one duration syntax of every serve option, on the
// command line, in LATCHKEY_* variables and in the config file: the same as
// the API, `tokens create` and `policy set` accept (service.ParseDuration):
// Go durations ("720h", "90m") and whole days or weeks ("90d", "2w").
// Defaults and help show days when whole ("180d", not "4320h0m0s").
type durationValue struct{ p *time.Duration }

// DurationVar declares a duration flag that reads days and weeks too.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, help string) {
	*p = def
	fs.Var(durationValue{p}, name, help)
}

func (d durationValue) Set(s string) error {
	v, err := service.ParseDuration(s)
	if err != nil {
		return err
	}
	*d.p = v
	return nil
}

func (d durationValue) String() string {
	if d.p == nil {
		return "0"
	}
	return FormatDuration(*d.p)
}

func (d durationValue) Type() string { return "duration" }

// FormatDuration writes d as the options read it: "0", "180d", "15m",
// "1h30m".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d%(24*time.Hour) == 0 {
		return service.FormatDuration(d)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
