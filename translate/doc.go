// Package translate converts entities between server form, the JSON an
// Octopus server holds (references are IDs), and bundle form, what a bundle
// holds (references are names, unique within the scope the kind registry
// gives them).
//
// Both directions are driven by the registry's references (schema.Kind.Refs,
// walked by schema.Kind.Rewrite):
//
//   - server → bundle: ToBundle turns every ID into a name through a
//     snapshot's index, turns dangling references into what the bundle can
//     hold (dangling.go), drops volatile fields, scrubs secrets and sorts
//     sets. Export writes its result; apply compares a destination entity
//     with a bundle through it.
//   - bundle → server: IDs.ToServer turns every name into the ID a server
//     has, through its snapshot's index; apply writes its result.
//
// EachName (and VisitNames, which only reads) is the one walk over the
// names a bundle document holds: ToServer, apply's reference check and its
// ordering of changes all go through it.
//
// The two directions are inverse on what references hold: for an entity a
// snapshot has, ToServer(ToBundle(e)) holds e's IDs and ToBundle of that
// the same names (see the round-trip test). Export and apply both import
// this package; neither imports the other.
package translate
