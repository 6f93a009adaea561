// Package repocheck holds tests of the repository itself rather than of
// the product: the git hooks in .githooks (gofmt on staged files, the
// 72-character commit subject) and ARCHITECTURE.md (every package it
// names exists). It has no code of its own; nothing imports it.
package repocheck
