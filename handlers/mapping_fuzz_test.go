package handlers_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// fuzzMappings are the mappings FuzzMapping reads events with: the seeds', and one of
// each other key, which name recipients or do not.
var fuzzMappings = []struct {
	expr       string
	recipients bool // it names topics or users
}{
	{seed002Mapping, true},
	{seed003Mapping, true},
	{`{users: detail.owners, exclude_users: [detail.actor], data: detail.message}`, true},
	{"{topics: readings[?temp > `30`].sensor, data: max_by(readings, &temp)}", true},
	{`{exclude_users: [detail.actor], data: detail}`, false},
}

// FuzzMapping reads arbitrary events, as a stream or a bus may carry them, with the
// seeds' mappings and others. Request never panics; the request of an event it accepts
// is a JSON object whose data is there (the whole event, compact, when the mapping
// names no data) and whose ids are lists of strings, so that what the decoder refuses
// of it is a rule of requests (an empty topic, the frame limit), never its form; and a
// mapping that names topics or users never makes a broadcast of it.
func FuzzMapping(f *testing.F) {
	mappings := make([]*handlers.Mapping, len(fuzzMappings))
	for i, fm := range fuzzMappings {
		m, err := handlers.CompileMapping(fm.expr)
		if err != nil {
			f.Fatal(err)
		}
		mappings[i] = m
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		for i, m := range mappings {
			out, err := m.Request(event)
			if err != nil {
				continue
			}
			var req struct {
				Topics       []string        `json:"topics"`
				Users        []string        `json:"users"`
				ExcludeUsers []string        `json:"exclude_users"`
				Data         json.RawMessage `json:"data"`
			}
			var fields map[string]json.RawMessage
			if json.Unmarshal(out, &fields) != nil || json.Unmarshal(out, &req) != nil || fields["data"] == nil {
				t.Fatalf("%s of %q = %s: not a request of lists of ids and data", m, event, out)
			}
			for k := range fields {
				if k != "topics" && k != "users" && k != "exclude_users" && k != "data" {
					t.Fatalf("%s of %q = %s: a member %q", m, event, out, k)
				}
			}
			if fuzzMappings[i].recipients && len(req.Topics)+len(req.Users) == 0 {
				t.Fatalf("%s of %q = %s: a broadcast", m, event, out)
			}
			if !strings.Contains(m.String(), "data:") {
				var compact bytes.Buffer
				if json.Compact(&compact, event) != nil || !bytes.Equal(compact.Bytes(), req.Data) {
					t.Fatalf("%s of %q: data %s, want the whole event", m, event, req.Data)
				}
			}
			if _, err := (handlers.Decoder{}).Decode(out); err != nil {
				for _, form := range []string{"not a JSON object", `no "data" field`, "not a list of strings", "data: "} {
					if strings.Contains(err.Error(), form) {
						t.Fatalf("%s of %q = %s, which the decoder refuses for its form: %v", m, event, out, err)
					}
				}
			}
		}
	})
}
