package handlers_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// FuzzDecode feeds the decode stage arbitrary bodies, as producers and the dev intake
// may send them. A body it accepts is a request its users can be sent: data is UTF-8,
// compact JSON within the frame limit and the body's own data, users are the body's
// non-empty ids, and the request decodes the same once encoded again. A body it refuses
// is refused with a permanent error that says so, to be parked with that reason.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		d := handlers.Decoder{MaxFrameBytes: limit}
		req, err := d.Decode(body)
		if err != nil {
			if !handlers.IsPermanent(err) {
				t.Fatalf("Decode(%q) = %v: not a permanent error, so it would be retried", body, err)
			}
			if !strings.HasPrefix(err.Error(), "decode request: ") {
				t.Fatalf("Decode(%q) = %q: the reason does not say it is a request that did not decode", body, err)
			}
			return
		}
		if limit <= 0 {
			limit = handlers.MaxFrameBytes
		}
		checkDecodedData(t, body, req.Data, limit)
		checkDecodedUsers(t, body, "users", req.Users)
		checkDecodedUsers(t, body, "exclude_users", req.ExcludeUsers)
		if seg := req.Segment; seg != nil {
			if seg.Index < 0 || seg.Index >= seg.Total || seg.Total > handlers.MaxSegments {
				t.Fatalf("Decode(%q): segment %s is none", body, seg)
			}
			if req.Kind() == handlers.Multicast {
				t.Fatalf("Decode(%q): a multicast with segment %s", body, seg)
			}
		}

		again, err := d.Decode(reencode(t, req))
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, which does not decode once encoded again: %v", body, req, err)
		}
		if !slices.Equal(again.Users, req.Users) || !slices.Equal(again.ExcludeUsers, req.ExcludeUsers) || !bytes.Equal(again.Data, req.Data) ||
			!reflect.DeepEqual(again.Segment, req.Segment) {
			t.Fatalf("Decode(%q) = %+v, encoded again it decodes to %+v", body, req, again)
		}
	})
}

// checkDecodedData checks that data is what a client can be sent as one text frame: UTF-8
// (RFC 6455, 8.1: a client fails the connection on a text frame that is not), JSON,
// compact, within limit, and the same JSON value as the body's data.
func checkDecodedData(t *testing.T, body, data []byte, limit int) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatalf("Decode(%q): data %q is not UTF-8", body, data)
	}
	if !json.Valid(data) {
		t.Fatalf("Decode(%q): data %q is not JSON", body, data)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil || !bytes.Equal(compact.Bytes(), data) {
		t.Fatalf("Decode(%q): data %q is not compact", body, data)
	}
	if len(data) > limit {
		t.Fatalf("Decode(%q): data is %d bytes, over the %d-byte limit", body, len(data), limit)
	}
	want, ok := bodyMember(body, "data")
	if !ok {
		t.Fatalf("Decode(%q) accepted a body without data", body)
	}
	if got := numberedJSON(t, data); !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q): data %q is %#v, the body's is %#v", body, data, got, want)
	}
}

// checkDecodedUsers checks that users are the body's list name, each a non-empty id.
func checkDecodedUsers(t *testing.T, body []byte, name string, users []string) {
	t.Helper()
	for i, u := range users {
		if u == "" {
			t.Fatalf("Decode(%q): %s[%d] is empty", body, name, i)
		}
	}
	raw, _ := bodyMember(body, name)
	var want []string
	if list, ok := raw.([]any); ok {
		for _, u := range list {
			want = append(want, u.(string)) // Decode accepted it: a list of strings
		}
	}
	if !slices.Equal(users, want) {
		t.Fatalf("Decode(%q): %s = %q, the body's are %q", body, name, users, want)
	}
}

// bodyMember returns the member name of the JSON object body, as a JSON value.
func bodyMember(body []byte, name string) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return nil, false
	}
	v, ok := obj[name]
	return v, ok
}

// numberedJSON decodes b, numbers kept as they are spelt.
func numberedJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// reencode returns the body of req as a producer would send it. Data is written
// as it is: json.Marshal would escape its HTML characters.
func reencode(t *testing.T, req handlers.Request) []byte {
	t.Helper()
	users, err := json.Marshal(req.Users)
	if err != nil {
		t.Fatal(err)
	}
	excluded, err := json.Marshal(req.ExcludeUsers)
	if err != nil {
		t.Fatal(err)
	}
	segment, err := json.Marshal(req.Segment)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Concat([]byte(`{"users":`), users, []byte(`,"exclude_users":`), excluded, []byte(`,"segment":`), segment,
		[]byte(`,"data":`), req.Data, []byte(`}`))
}
