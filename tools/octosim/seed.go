package octosim

// Instance is the state of one simulated Octopus instance: what --seed loads
// from a JSON file in testdata/ and what Dump returns. Entities are stored
// exactly as the server returns them, IDs included, except that seeds carry
// sensitive values in clear (the simulator keeps them and never returns them).
type Instance struct {
	// Comment is free text describing the instance.
	Comment string `json:"Comment,omitempty"`
	// ServerVersion is the Octopus version the instance reports (a flag overrides it).
	ServerVersion string `json:"ServerVersion,omitempty"`
	// UserRoles are server-level custom user roles; built-in roles
	// (userroles-…) are always present and need not be listed.
	UserRoles []map[string]any `json:"UserRoles,omitempty"`
	// Spaces are the instance's spaces with their contents.
	Spaces []SpaceSeed `json:"Spaces"`
}

// SpaceSeed is one space and its collections.
type SpaceSeed struct {
	Id          string `json:"Id"`
	Name        string `json:"Name"`
	IsDefault   bool   `json:"IsDefault,omitempty"`
	Description string `json:"Description,omitempty"`
	// Collections maps an API collection name (environments, projects,
	// deploymentprocesses, variables, runbookProcesses, tenantvariables …)
	// to its entities.
	Collections map[string][]map[string]any `json:"Collections"`
}
