package rules

// The operator's metrics register themselves on controller-runtime's registry when their
// packages load, as they do in the manager.
import (
	_ "github.com/bcconnect/salesconnection-operator/controllers"
	_ "github.com/bcconnect/salesconnection-operator/internal/dataverse"
)
