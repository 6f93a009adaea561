// Package transform makes a bundle fit its destination: a pure,
// deterministic function from a bundle and rule files to a new bundle and a
// report. It never touches the network; the same input and rules give a
// byte-identical output.
//
// Rule files (YAML or JSON, apiVersion octobundle/rules/v1, validated
// against schema/jsonschemas/rules.schema.json; docs/rules.md is the
// reference) drop, keep, rename, merge or leave to the destination any
// named entity of any registry kind, say what happens to steps and values
// whose scope is lost, set values, and set the apply-time policy that
// travels in the bundle (policy.File).
//
// The cascade is driven by the kind registry alone: every reference
// (schema.Kind.Refs and TagRefs) to a dropped entity is removed, rewritten
// to a renamed or merged one, or — as the reference's declaration says —
// removes its holder (Ref.OnDrop), is an error, or empties a restriction
// (Ref.Restricts), which is never silently widened: the lost-scope policy
// decides. Containers left empty (schema.Container) vanish or, for an
// entity whose emptiness would widen it, are dropped or an error as the
// rules say. A rename is seen by the rules after it (they name the entity
// by its new name) and kept through the cascade: a renamed entity then
// dropped, merged or left to the destination is reported under both names
// (Change.Renamed). After transforming, every reference must resolve, with
// every kind the input carried counted as carried
// (bundles.Bundle.CheckReferencesCarried).
package transform
