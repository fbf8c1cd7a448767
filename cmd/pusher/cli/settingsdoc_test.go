package cli

import (
	"flag"
	"io"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings/settingsdoc"
)

// settingsDoc is the guide whose table lists every setting and its default.
const settingsDoc = "../../../docs/settings.md"

// TestSettingsDocMatchesTheFlags reads the table of docs/settings.md and checks each
// row against the flags of the commands it names, as Run defines them with an empty
// environment: the flag exists, reads the row's variable (or none), and has the row's
// default. Each flag that reads a variable has its row: docs and code cannot drift.
// The function's rows (lambda, authorizer) are defined by cmd/pusher-lambda/function,
// which the pusher command does not import: its own test checks them.
func TestSettingsDocMatchesTheFlags(t *testing.T) {
	table, err := settingsdoc.Read(settingsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range table.Check(commandFlags(), "lambda", "authorizer") {
		t.Error(err)
	}
}

// commandFlags returns the flag sets of pusher's commands, by the name the table
// uses: those of all its subcommands for replay. Their environment is empty.
func commandFlags() map[string][]*flag.FlagSet {
	e := env{stdout: io.Discard, stderr: io.Discard, lookup: func(string) (string, bool) { return "", false }}
	sets := map[string][]*flag.FlagSet{}
	for _, c := range commands() {
		for _, c := range append([]command{c}, c.subcommands...) {
			if c.define != nil {
				fs, _ := c.flags(e)
				name := c.name
				if c.parent != "" {
					name = c.parent
				}
				sets[name] = append(sets[name], fs.FlagSet)
			}
		}
	}
	return sets
}
