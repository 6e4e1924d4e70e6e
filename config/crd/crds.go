// Package crd embeds the generated CustomResourceDefinitions of mutualis (bases/, made by
// controller-gen), so that kubectl mutualis validate checks manifests against the very schema
// and CEL rules the API server enforces.
package crd

import "embed"

// Bases holds bases/*.yaml.
//
//go:embed bases/*.yaml
var Bases embed.FS
