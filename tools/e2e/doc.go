// Package e2e holds octobundle's end-to-end tests, written once and run
// against every available target (see /work/shared/DESIGN.md, "The
// simulator"): the golden bundle of the sample source instance
// (testdata/golden/source) is applied to a space, the space is exported
// again, and the results are checked.
//
// The package has no code of its own; everything is in its tests.
//
// # Targets
//
// A target is a server URL, an API key and a space (Target in
// target_test.go):
//
//   - sim, always: a fresh, empty simulator (tools/octosim) started per
//     test on loopback, with the tests working in a space named
//     octobundle-e2e-sim that they create on it. This is what `make test`
//     and CI run, so the end-to-end tests never rot.
//   - live, with `make e2e` (or its old name make test-live): a real Octopus Server, when
//     OCTOBUNDLE_LIVE=1 and OCTOPUS_URL, OCTOPUS_API_KEY and
//     OCTOBUNDLE_LIVE_SPACE are all set. A missing variable fails the run
//     (it does not pass vacuously), and so does a space whose name does not
//     start with "octobundle-e2e" (LiveSpacePrefix): the tests write to the
//     space, so they refuse anything that could be a production space. The
//     API key is sent in a header and never printed.
//
// # What the tests do to a live server
//
// They apply the golden bundle to the space: environments, projects,
// tenants, accounts, certificates, feeds and so on are created, and new
// secrets get placeholders (apply.PlaceholderPrefix; generated self-signed
// certificates). Custom user roles are server-level in Octopus, so the
// bundle's user roles (Release Approver, Runbook Operator, …) are created
// outside the space too. The tests never delete anything: the space must be
// a throwaway (octobundle-e2e-*) and keeps the data after the run. Every
// test therefore passes on a space it already ran against: applying the
// golden bundle a second time is a no-op plan that makes no write. The
// simulator proves that on every CI run (TestE2ESuiteTwice runs the whole
// suite twice against one simulator).
//
// # The tests
//
//   - TestE2ERoundTrip: plan and apply the golden bundle (Succeeded), then
//     plan again (no changes), export the space and compare it with the
//     golden bundle entity by entity. The only differences allowed are what
//     the destination owns (its built-in defaults) and what placeholders
//     change (certificate passwords and, on a real server, certificate
//     metadata); see allowedDiffs in diff_test.go.
//   - TestE2EReplay: applying the golden bundle again makes zero writes, by
//     the client's count (octopus.Stats.Writes) and, on the simulator, by
//     the server's.
//   - TestE2EIdempotentExport: two exports of the space, written to disk
//     and verified (bundles.Verify), have identical checksums.txt.
//   - TestE2ESecrets: no response the server sent during apply and export
//     holds a placeholder secret or the generated certificate, and no byte
//     of the export holds apply.PlaceholderPrefix except in a placeholder
//     certificate's X.509 subject (where a real server shows it).
//   - TestLiveConfig, TestBundleFieldDiffs, TestAllowances, TestRecorder:
//     unit tests (no server) of the live target's guard, the entity diff,
//     the allowed differences and the secrets scan.
//
// On a live server the four tests share the space, so all but the first
// already find the golden bundle applied; on the simulator each starts from
// a fresh server, and TestE2ESuiteTwice covers the second run.
package e2e
