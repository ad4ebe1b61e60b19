package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// faultFlags are the fault knobs given on the command line; they apply to every
// environment, over the config's own.
type faultFlags struct {
	latency     time.Duration
	errorRates  map[int]float64
	throttle    *dataversesim.ThrottleConfig
	failImports string
	tokenOutage time.Duration
}

func (f *faultFlags) register(fs *flag.FlagSet) {
	f.errorRates = map[int]float64{}
	fs.DurationVar(&f.latency, "latency", 0, "Add this `duration` to every Web API request, e.g. 200ms.")
	fs.Func("error-rate", "`STATUS=FRACTION`: fail this fraction of Web API requests with this status, e.g. 503=0.05 (repeatable).",
		func(v string) error {
			status, fraction, err := parseErrorRate(v)
			if err == nil {
				f.errorRates[status] = fraction
			}
			return err
		})
	fs.Func("throttle", "`N/WINDOW[/RETRY-AFTER]`: answer 429 with Retry-After once a principal sent more than N requests in a window, e.g. 100/1m or 100/1m/10s.",
		func(v string) (err error) {
			f.throttle, err = parseThrottle(v)
			return err
		})
	fs.StringVar(&f.failImports, "fail-imports", "", "Make every solution import job fail with this `message`.")
	fs.DurationVar(&f.tokenOutage, "token-outage", 0, "Answer 503 at the token endpoint for this `duration` after start, e.g. 1m.")
}

// apply writes the flags into cfg.
func (f *faultFlags) apply(cfg *dataversesim.Config) {
	for i := range cfg.Environments {
		env := &cfg.Environments[i]
		if f.latency > 0 {
			env.Latency = dataversesim.Duration{Duration: f.latency}
		}
		if len(f.errorRates) > 0 {
			rates := map[int]float64{}
			for s, r := range env.Faults.ErrorRates {
				rates[s] = r
			}
			for s, r := range f.errorRates {
				rates[s] = r
			}
			env.Faults.ErrorRates = rates
		}
		if f.throttle != nil {
			env.Faults.Throttle = f.throttle
		}
		if f.failImports != "" {
			env.Faults.FailImports = f.failImports
		}
	}
	if f.tokenOutage > 0 {
		cfg.TokenEndpointOutage = true
	}
}

func parseErrorRate(v string) (int, float64, error) {
	s, fr, ok := strings.Cut(v, "=")
	status, errS := strconv.Atoi(strings.TrimSpace(s))
	fraction, errF := strconv.ParseFloat(strings.TrimSpace(fr), 64)
	if !ok || errS != nil || errF != nil {
		return 0, 0, fmt.Errorf("%q is not STATUS=FRACTION, e.g. 503=0.05", v)
	}
	return status, fraction, nil
}

func parseThrottle(v string) (*dataversesim.ThrottleConfig, error) {
	parts := strings.Split(v, "/")
	bad := fmt.Errorf("%q is not N/WINDOW[/RETRY-AFTER], e.g. 100/1m/10s", v)
	if len(parts) < 2 || len(parts) > 3 {
		return nil, bad
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n <= 0 {
		return nil, bad
	}
	window, err := time.ParseDuration(parts[1])
	if err != nil || window <= 0 {
		return nil, bad
	}
	t := &dataversesim.ThrottleConfig{Requests: n, Window: dataversesim.Duration{Duration: window}}
	if len(parts) == 3 {
		if t.RetryAfter.Duration, err = time.ParseDuration(parts[2]); err != nil {
			return nil, bad
		}
	}
	return t, nil
}
