// Package bundles implements the octobundle bundle format, octobundle/v1.
package bundles
