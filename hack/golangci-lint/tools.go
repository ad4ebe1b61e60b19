//go:build tools

// Package golangcilint pins the golangci-lint command hack/build-golangci-lint.sh builds.
package golangcilint

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
