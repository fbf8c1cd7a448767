package function_test

import (
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings/settingsdoc"
)

// TestSettingsDocMatchesTheFunction checks the rows of docs/settings.md that name the
// function (lambda: as the pusher; authorizer: with PUSHER_ROLE=authorizer) against
// Flags and AuthorizerFlags with an empty environment, as cmd/pusher/cli's test checks
// the pusher's commands: each row's flag reads its variable and has its default, and
// each variable the function reads has its row. PUSHER_ROLE, which chooses between
// the two, is no flag: its row's default is RolePusher.
func TestSettingsDocMatchesTheFunction(t *testing.T) {
	table, err := settingsdoc.Read("../../../docs/settings.md")
	if err != nil {
		t.Fatal(err)
	}
	none := func(string) (string, bool) { return "", false }
	fn := settings.New("pusher-lambda", io.Discard, none)
	function.Flags(fn, &function.Config{})
	az := settings.New("pusher-lambda (authorizer)", io.Discard, none)
	function.AuthorizerFlags(az, &function.AuthorizerConfig{})

	role := false
	table.Rows = slices.DeleteFunc(table.Rows, func(r settingsdoc.Row) bool {
		if r.Variable != "PUSHER_ROLE" {
			return false
		}
		role = true
		if r.Flag != "" || r.Default != function.RolePusher || !slices.Equal(r.Commands, []string{"lambda", "authorizer"}) {
			t.Errorf("%s:%d: PUSHER_ROLE's row is %+v, want no flag, the default %q, and lambda, authorizer", table.File, r.Line, r, function.RolePusher)
		}
		return true
	})
	if !role {
		t.Errorf("%s: no row of PUSHER_ROLE", table.File)
	}

	sets := map[string][]*flag.FlagSet{"lambda": {fn.FlagSet}, "authorizer": {az.FlagSet}}
	for _, err := range table.Check(sets, "dev", "serve", "gateway", "send", "replay", "token") {
		t.Error(err)
	}
}
