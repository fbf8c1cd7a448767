package serve

// NewChecks is newChecks, for the tests of the start-up checks.
var NewChecks = newChecks
