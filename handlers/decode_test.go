package handlers_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// jsonString returns a JSON string literal that is exactly n bytes long, quotes included.
func jsonString(n int) string {
	return `"` + strings.Repeat("x", n-2) + `"`
}

// TestDecodeValid checks the requests a caller may send: their form, their users, and
// data that reaches the frame compacted but otherwise byte for byte.
func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name     string
		decoder  handlers.Decoder
		body     string
		kind     handlers.Kind
		users    []string
		excluded []string
		data     string
		segment  *handlers.Segment
	}{
		{
			name:  "multicast",
			body:  `{"users":["alice","bob"],"data":{"msg":"hi"}}`,
			kind:  handlers.Multicast,
			users: []string{"alice", "bob"},
			data:  `{"msg":"hi"}`,
		},
		{
			name:     "multicast with exclusions",
			body:     `{"users":["alice","bob"],"exclude_users":["bob"],"data":1}`,
			kind:     handlers.Multicast,
			users:    []string{"alice", "bob"},
			excluded: []string{"bob"},
			data:     `1`,
		},
		{
			name: "broadcast",
			body: `{"data":"hello"}`,
			kind: handlers.Broadcast,
			data: `"hello"`,
		},
		{
			name: "broadcast with null users and exclude_users",
			body: `{"users":null,"exclude_users":null,"data":true}`,
			kind: handlers.Broadcast,
			data: `true`,
		},
		{
			name:     "exclusion",
			body:     `{"exclude_users":["carol","dave"],"data":[1,2]}`,
			kind:     handlers.Exclusion,
			excluded: []string{"carol", "dave"},
			data:     `[1,2]`,
		},
		{
			name:  "unknown fields are ignored",
			body:  `{"users":["alice"],"data":{},"priority":"high"}`,
			kind:  handlers.Multicast,
			users: []string{"alice"},
			data:  `{}`,
		},
		{
			name: "whitespace between tokens is removed",
			body: "{ \"data\" :\n\t{ \"a\" : [ 1 , 2 ] ,\r\n  \"b\" : { \"c\" : null } } }",
			kind: handlers.Broadcast,
			data: `{"a":[1,2],"b":{"c":null}}`,
		},
		{
			name: "whitespace inside strings is kept",
			body: `{"data":{"text":"hello   world \t x ", " key ":" "}}`,
			kind: handlers.Broadcast,
			data: `{"text":"hello   world \t x "," key ":" "}`,
		},
		{
			name: "nested objects and null are kept",
			body: `{"data":{"outer":{"inner":{"deep":[{"x":null},[],{}]}},"none":null}}`,
			kind: handlers.Broadcast,
			data: `{"outer":{"inner":{"deep":[{"x":null},[],{}]}},"none":null}`,
		},
		{
			name: "numbers keep their exact spelling",
			body: `{"data":{"big":12345678901234567890123,"dec":1.50,"exp":1e3,"neg":-0,"frac":0.1}}`,
			kind: handlers.Broadcast,
			data: `{"big":12345678901234567890123,"dec":1.50,"exp":1e3,"neg":-0,"frac":0.1}`,
		},
		{
			name: "escapes, HTML and non-ASCII text are kept",
			body: `{"data":"<b>caf\u00e9 & é</b> \"q\" \\ 🙂"}`,
			kind: handlers.Broadcast,
			data: `"<b>caf\u00e9 & é</b> \"q\" \\ 🙂"`,
		},
		{
			name: "data exactly at the default limit",
			body: `{"data":` + jsonString(handlers.MaxFrameBytes) + `}`,
			kind: handlers.Broadcast,
			data: jsonString(handlers.MaxFrameBytes),
		},
		{
			name: "whitespace does not count toward the limit",
			body: `{"data":[ ` + jsonString(handlers.MaxFrameBytes-2) + strings.Repeat(" ", 1024) + `]}`,
			kind: handlers.Broadcast,
			data: `[` + jsonString(handlers.MaxFrameBytes-2) + `]`,
		},
		{
			name:    "data exactly at a custom limit",
			decoder: handlers.Decoder{MaxFrameBytes: 10},
			body:    `{"data":"12345678"}`,
			kind:    handlers.Broadcast,
			data:    `"12345678"`,
		},
		{
			name:    "segment task of a broadcast",
			body:    `{"data":1,"segment":{"index":0,"total":10}}`,
			kind:    handlers.Broadcast,
			data:    `1`,
			segment: &handlers.Segment{Index: 0, Total: 10},
		},
		{
			name:     "segment task of an exclusion, at DynamoDB's most segments",
			body:     `{"exclude_users":["bob"],"data":1,"segment":{"index":999999,"total":1000000}}`,
			kind:     handlers.Exclusion,
			excluded: []string{"bob"},
			data:     `1`,
			segment:  &handlers.Segment{Index: 999999, Total: 1000000},
		},
		{
			name:    "segment task with its share of the fleet's post rate",
			body:    `{"data":1,"segment":{"index":3,"total":10,"post_rate":250.5}}`,
			kind:    handlers.Broadcast,
			data:    `1`,
			segment: &handlers.Segment{Index: 3, Total: 10, PostRate: 250.5},
		},
		{
			name: "null segment and empty users",
			body: `{"users":[],"data":1,"segment":null}`,
			kind: handlers.Broadcast,
			data: `1`,
		},
		{
			name:    "negative custom limit means the default",
			decoder: handlers.Decoder{MaxFrameBytes: -1},
			body:    `{"data":` + jsonString(handlers.MaxFrameBytes) + `}`,
			kind:    handlers.Broadcast,
			data:    jsonString(handlers.MaxFrameBytes),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.decoder.Decode([]byte(tt.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := req.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
			if !slices.Equal(req.Users, tt.users) {
				t.Errorf("Users = %q, want %q", req.Users, tt.users)
			}
			if !slices.Equal(req.ExcludeUsers, tt.excluded) {
				t.Errorf("ExcludeUsers = %q, want %q", req.ExcludeUsers, tt.excluded)
			}
			if string(req.Data) != tt.data {
				t.Errorf("Data = %.200s, want %.200s", req.Data, tt.data)
			}
			if (req.Segment == nil) != (tt.segment == nil) || req.Segment != nil && *req.Segment != *tt.segment {
				t.Errorf("Segment = %v, want %v", req.Segment, tt.segment)
			}
		})
	}
}

// TestDecodeInvalid checks that every malformed request is refused with a message that
// says what is wrong, and as a permanent error, so it is parked instead of retried.
func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name    string
		decoder handlers.Decoder
		body    string
		wantMsg string
	}{
		{name: "not JSON", body: `hello`, wantMsg: "not a JSON object"},
		{name: "empty body", body: ``, wantMsg: "not a JSON object"},
		{name: "truncated object", body: `{"data":{"a":1}`, wantMsg: "not a JSON object"},
		{name: "top-level array", body: `[{"data":1}]`, wantMsg: "not a JSON object"},
		{name: "top-level string", body: `"data"`, wantMsg: "not a JSON object"},
		{name: "top-level number", body: `42`, wantMsg: "not a JSON object"},
		{name: "top-level null", body: `null`, wantMsg: `no "data" field`},
		{name: "no data", body: `{"users":["alice"]}`, wantMsg: `no "data" field`},
		{name: "empty object", body: `{}`, wantMsg: `no "data" field`},
		{name: "users is a string", body: `{"users":"alice","data":1}`, wantMsg: `"users" is not a list of strings`},
		{name: "users is an object", body: `{"users":{"alice":true},"data":1}`, wantMsg: `"users" is not a list of strings`},
		{name: "users holds a number", body: `{"users":["alice",7],"data":1}`, wantMsg: `"users" is not a list of strings`},
		{name: "users holds a list", body: `{"users":[["alice"]],"data":1}`, wantMsg: `"users" is not a list of strings`},
		{name: "users holds an empty id", body: `{"users":["alice",""],"data":1}`, wantMsg: `"users"[1] is an empty user id`},
		{name: "users holds null", body: `{"users":[null],"data":1}`, wantMsg: `"users"[0] is an empty user id`},
		{name: "exclude_users is a string", body: `{"exclude_users":"bob","data":1}`, wantMsg: `"exclude_users" is not a list of strings`},
		{name: "exclude_users holds a number", body: `{"exclude_users":[1],"data":1}`, wantMsg: `"exclude_users" is not a list of strings`},
		{name: "exclude_users holds an empty id", body: `{"exclude_users":["bob",""],"data":1}`, wantMsg: `"exclude_users"[1] is an empty user id`},
		{name: "users holds a reserved id", body: `{"users":["alice","$anonymous:CnPq9lOnoAMCSzY="],"data":1}`, wantMsg: `"users"[1]: user ids starting with "$" are reserved`},
		{name: "exclude_users holds a reserved id", body: `{"exclude_users":["$connection:x"],"data":1}`, wantMsg: `"exclude_users"[0]: user ids starting with "$" are reserved`},
		{name: "segment is a string", body: `{"data":1,"segment":"0/2"}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment without a total", body: `{"data":1,"segment":{"index":0}}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment of fractions", body: `{"data":1,"segment":{"index":0.5,"total":2}}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment of other keys", body: `{"data":1,"segment":{"Index":0,"TOTAL":2}}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment with more", body: `{"data":1,"segment":{"index":0,"total":2,"of":"x"}}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment with a post rate of 0", body: `{"data":1,"segment":{"index":0,"total":2,"post_rate":0}}`, wantMsg: `"post_rate" 0 is not a number of posts per second above 0`},
		{name: "segment with a post rate of text", body: `{"data":1,"segment":{"index":0,"total":2,"post_rate":"9"}}`, wantMsg: `"post_rate" "9" is not`},
		{name: "segment with a post rate and more", body: `{"data":1,"segment":{"index":0,"total":2,"post_rate":9,"of":1}}`, wantMsg: `"segment" is not {"index":i,"total":n}`},
		{name: "segment index at total", body: `{"data":1,"segment":{"index":2,"total":2}}`, wantMsg: `"segment" 2/2 is not 0 <= index < total <= 1000000`},
		{name: "segment index negative", body: `{"data":1,"segment":{"index":-1,"total":2}}`, wantMsg: `"segment" -1/2 is not`},
		{name: "segment of no total", body: `{"data":1,"segment":{"index":0,"total":0}}`, wantMsg: `"segment" 0/0 is not`},
		{name: "segment over DynamoDB's total", body: `{"data":1,"segment":{"index":0,"total":1000001}}`, wantMsg: `"segment" 0/1000001 is not`},
		{name: "segment of a multicast", body: `{"users":["a"],"data":1,"segment":{"index":0,"total":2}}`, wantMsg: `"segment" goes with a broadcast or an exclusion, not with "users" or "topics"`},
		{name: "segment of topics", body: `{"topics":["t"],"data":1,"segment":{"index":0,"total":2}}`, wantMsg: `"segment" goes with a broadcast or an exclusion`},
		{
			name:    "data one byte over the default limit",
			body:    `{"data":` + jsonString(handlers.MaxFrameBytes+1) + `}`,
			wantMsg: "data is 131073 bytes, over the 131072-byte frame limit",
		},
		{
			name:    "data one byte over a custom limit",
			decoder: handlers.Decoder{MaxFrameBytes: 10},
			body:    `{"data":"123456789"}`,
			wantMsg: "data is 11 bytes, over the 10-byte frame limit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.decoder.Decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("Decode(%.80s) = %+v, want an error", tt.body, req)
			}
			if !handlers.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false, want true", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "decode request: ") || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error = %q, want %q after \"decode request: \"", msg, tt.wantMsg)
			}
		})
	}
}
