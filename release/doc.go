// Package release promotes one release of one project from a source
// Octopus instance to a destination that cannot see it, through a release
// bundle. Its one job is that hand-over: Export reads the release on the
// source and writes the bundle; Plan and Apply create, on the destination,
// a release of its own with the same version, channel and package
// versions.
//
// Promotion is not a copy. A release is a snapshot of the deployment
// process, the variables and the packages of the instance it was created
// on, and any POST of a release makes a new snapshot; so the destination
// makes its own release, from its own (synced) process and variables, and
// the release bundle carries only what the destination needs to make it
// and to check that it makes the same thing:
//
//   - the release (attached/release.json, see Doc): project, version,
//     channel, release notes, the package version chosen for every package
//     reference of every step (by step, action and package reference name,
//     never by ID), the build information the source recorded;
//   - the project's configuration as a configuration bundle holds it (the
//     entity files of `export --project`), so that the destination's
//     process and variables are compared with it after the same transform
//     rules (Configuration, ConfigDigest);
//   - with Options.WithPackages, the built-in feed's package files
//     (attached/packages/…), with their sha256 and sha1 (the hash the
//     server keeps).
//
// The API calls follow what the Octopus clients send: POST
// /api/{space}/packages/raw (multipart, overwriteMode) as go-octopusdeploy's
// packages.Upload and `octopus package upload`; POST /api/{space}/releases
// with SelectedPackages {ActionName, PackageReferenceName, Version} as
// go-octopusdeploy's releases.Add; POST /api/{space}/build-information as
// buildinformation.Add; POST /api/{space}/deployments {ReleaseId,
// EnvironmentId, TenantId} as deployments.Add; GET
// /api/{space}/feeds/{id}/packages/versions?packageId=…&versionRange=[V]
// to ask an external feed for a version, as the portal's package
// selector does.
package release
