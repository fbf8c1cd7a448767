package settings_test

import (
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestMappings reads the mappings from the environment and the flags, as serve, replay
// and the Lambda function do: a flag wins over its variable, an empty variable is
// unset, and a mapping that does not compile stops start-up with one line naming its
// variable or flag.
func TestMappings(t *testing.T) {
	const (
		seed002 = `{topics: [VehicleID]}`
		seed003 = `{topics: [detail.entityId], data: detail.message}`
	)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want map[string]string // source: expression
		err  string            // the whole error; "" for none
	}{
		{name: "none"},
		{name: "empty variables", env: map[string]string{"KINESIS_MAPPING": "", "EVENTBRIDGE_MAPPING": ""}},
		{name: "environment", env: map[string]string{"KINESIS_MAPPING": seed002, "EVENTBRIDGE_MAPPING": seed003},
			want: map[string]string{handlers.SourceKinesis: seed002, handlers.SourceEventBridge: seed003}},
		{name: "flags", args: []string{"--kinesis-mapping", seed002, "--eventbridge-mapping=" + seed003},
			want: map[string]string{handlers.SourceKinesis: seed002, handlers.SourceEventBridge: seed003}},
		{name: "a flag over its variable", env: map[string]string{"EVENTBRIDGE_MAPPING": `{topics: [detail.id]}`}, args: []string{"--eventbridge-mapping", seed003},
			want: map[string]string{handlers.SourceEventBridge: seed003}},
		{name: "over lines", env: map[string]string{"EVENTBRIDGE_MAPPING": "{\n  topics: [detail.entityId],\n  data: detail.message\n}"},
			want: map[string]string{handlers.SourceEventBridge: "{\n  topics: [detail.entityId],\n  data: detail.message\n}"}},

		{name: "unclosed", env: map[string]string{"KINESIS_MAPPING": `{topics: [VehicleID`},
			err: `KINESIS_MAPPING: mapping "{topics: [VehicleID": SyntaxError: Expected TOKComma, received: TOKEOF`},
		{name: "not a hash", env: map[string]string{"KINESIS_MAPPING": `VehicleID`},
			err: `KINESIS_MAPPING: mapping "VehicleID": not a multiselect hash such as {topics: [VehicleID], data: @}`},
		{name: "an unknown key", env: map[string]string{"EVENTBRIDGE_MAPPING": `{topic: x}`},
			err: `EVENTBRIDGE_MAPPING: mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
		{name: "bad over lines", env: map[string]string{"EVENTBRIDGE_MAPPING": "{\n  topics: [detail.entityId\n}"},
			err: `EVENTBRIDGE_MAPPING: mapping "{\n  topics: [detail.entityId\n}": SyntaxError: Expected TOKComma, received: TOKRbrace`},
		{name: "a bad flag", args: []string{"--kinesis-mapping", `{topic: x}`},
			err: `invalid value "{topic: x}" for flag -kinesis-mapping: mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := settings.New("test", io.Discard, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			var got map[string]*handlers.Mapping
			settings.Mappings(f, &got)
			err := f.Parse(tt.args)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Parse: %v\nwant %s", err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			exprs := map[string]string{}
			for source, m := range got {
				exprs[source] = m.String()
			}
			if len(exprs) != len(tt.want) || !maps.Equal(exprs, tt.want) {
				t.Errorf("mappings %v, want %v", exprs, tt.want)
			}
		})
	}
}

// TestMappingsHelp: -h names each variable and shows an example mapping.
func TestMappingsHelp(t *testing.T) {
	var help strings.Builder
	f := settings.New("test", &help, func(string) (string, bool) { return "", false })
	var got map[string]*handlers.Mapping
	settings.Mappings(f, &got)
	f.PrintDefaults()
	for _, want := range []string{"-kinesis-mapping", "(env KINESIS_MAPPING)", "{topics: [VehicleID]}",
		"-eventbridge-mapping", "(env EVENTBRIDGE_MAPPING)", "{topics: [detail.entityId], data: detail.message}"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("the help has no %q:\n%s", want, help.String())
		}
	}
	if sources := slices.Sorted(maps.Keys(got)); len(sources) != 0 {
		t.Errorf("mappings %v with nothing set", sources)
	}
}
