package e2etest

import "github.com/bcconnect/salesconnection-operator/internal/leaksweep"

// sweep is the suite's secret-leak sweep (internal/leaksweep): every Secret a test
// creates is registered, the manager logs into it, and TestMain checks it after the
// suite.
var sweep leaksweep.Sweep

// registerSecrets adds a Secret's secret values to the sweep.
func registerSecrets(data map[string]string) { sweep.Register(data) }
