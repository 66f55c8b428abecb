package gateway

import (
	"github.com/latchkey/latchkey/internal/scope"
)

// PresetNone is the preset value that turns the implied Git preset off.
const PresetNone = "none"

// NewRules builds the router for a routes section of the config file. A
// section with neither a preset nor rules gets the Git preset, so Git over
// HTTPS works without configuration; `preset: none` opts out. Requests no
// rule matches are denied unless cfg.Default is "authenticated". Errors name
// the rule at fault.
func NewRules(c *scope.Catalog, cfg scope.RulesConfig) (*scope.Router, error) {
	switch {
	case cfg.Preset == PresetNone:
		cfg.Preset = ""
	case cfg.Preset == "" && len(cfg.Rules) == 0:
		cfg.Preset = "git"
	}
	return scope.NewRouter(c, cfg)
}
