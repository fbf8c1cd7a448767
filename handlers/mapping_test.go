package handlers_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The mappings of the seeds, as their READMEs set KINESIS_MAPPING and
// EVENTBRIDGE_MAPPING.
const (
	// seed002Mapping pushes a vehicle's record to the clients watching that vehicle.
	seed002Mapping = `{topics: [VehicleID]}`
	// seed003Mapping pushes an entity's message to its subscribers.
	seed003Mapping = `{topics: [detail.entityId], data: detail.message}`
)

// seed003Event is seed 003's event as EventBridge delivers it, with every top-level
// field of an event ("Amazon EventBridge events",
// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
const seed003Event = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Entity Updated",` +
	`"source":"com.example.entities","account":"123456789012","time":"2026-12-07T09:00:00Z","region":"us-east-1",` +
	`"resources":[],"detail":{"entityId":"myTestEntityId","message":"Hello world"}}`

// seed002Record is the data of one of seed 002's Kinesis records: a vehicle's position.
const seed002Record = `{"VehicleID":"v-42","lat":52.52,"lon":13.405}`

func TestCompileMapping(t *testing.T) {
	tests := []struct {
		name, expr string
		want       string // in the error; "" for none
	}{
		{name: "seed 002", expr: seed002Mapping},
		{name: "seed 003", expr: seed003Mapping},
		{name: "every key", expr: `{topics: t, users: u, exclude_users: x, data: d}`},
		{name: "quoted keys", expr: `{"topics": [VehicleID], "data": @}`},
		{name: "over lines", expr: "{\n  topics: [detail.entityId],\n  data: detail.message\n}"},
		{name: "unclosed", expr: `{topics: [VehicleID`, want: `mapping "{topics: [VehicleID": SyntaxError`},
		{name: "a path, not a hash", expr: `VehicleID`, want: `mapping "VehicleID": not a multiselect hash such as {topics: [VehicleID], data: @}`},
		{name: "a list, not a hash", expr: `[VehicleID]`, want: "not a multiselect hash"},
		{name: "a hash piped on", expr: `{topics: [VehicleID]} | @`, want: "not a multiselect hash"},
		{name: "unknown key", expr: `{topic: x}`, want: `mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
		{name: "a key twice", expr: `{topics: a, topics: b}`, want: `key "topics" given twice`},
		{name: "empty", expr: ``, want: `mapping "": SyntaxError`},
		{name: "empty hash", expr: `{}`, want: `mapping "{}": SyntaxError`},
		{name: "bad over lines", expr: "{\n  topics: [detail.entityId\n}", want: `mapping "{\n  topics: [detail.entityId\n}": SyntaxError`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := handlers.CompileMapping(tt.expr)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CompileMapping(%q): %v", tt.expr, err)
			case tt.want == "" && m.String() != tt.expr:
				t.Errorf("String() = %q, want the expression %q", m.String(), tt.expr)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CompileMapping(%q) = %v, want an error with %q", tt.expr, err, tt.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("the error spans lines, where start-up has one: %q", err)
			}
		})
	}
}

func TestMappingRequest(t *testing.T) {
	tests := []struct {
		name, expr, event string
		want              string // the request; "" when refused
		err               string // in the error when refused
	}{
		{name: "seed 002: data defaults to the whole record", expr: seed002Mapping, event: seed002Record,
			want: `{"topics":["v-42"],"data":` + seed002Record + `}`},
		{name: "seed 003: data from the detail", expr: seed003Mapping, event: seed003Event,
			want: `{"topics":["myTestEntityId"],"data":"Hello world"}`},
		{name: "source and detail-type", expr: "{topics: [join(':', [source, \"detail-type\"])], data: detail}", event: seed003Event,
			want: `{"topics":["com.example.entities:Entity Updated"],"data":{"entityId":"myTestEntityId","message":"Hello world"}}`},
		{name: "a string for one topic", expr: `{topics: VehicleID}`, event: seed002Record,
			want: `{"topics":["v-42"],"data":` + seed002Record + `}`},
		{name: "numbers as ids", expr: `{topics: [id, n, f, one], data: ok}`, event: `{"id":42,"n":-7,"f":52.5,"one":1.0,"ok":true}`,
			want: `{"topics":["42","-7","52.5","1"],"data":true}`},
		{name: "big integers kept exactly", expr: `{users: [owner], data: {n: n, f: f}}`,
			event: `{"owner":123456789012345678901234567890,"n":9007199254740993,"f":0.12345678901234567890}`,
			want:  `{"users":["123456789012345678901234567890"],"data":{"n":9007199254740993,"f":0.12345678901234567890}}`},
		{name: "filters compare numbers", expr: "{topics: readings[?temp > `30`].sensor, data: max_by(readings, &temp)}",
			event: `{"readings":[{"sensor":"s-1","temp":21.5},{"sensor":"s-2","temp":35},{"sensor":"s-3","temp":31.25}]}`,
			want:  `{"topics":["s-2","s-3"],"data":{"sensor":"s-2","temp":35}}`},
		{name: "users, topics and exclusions", expr: `{users: detail.owners, topics: [detail.entityId], exclude_users: [detail.actor], data: detail.message}`,
			event: `{"detail":{"owners":["ann","bo"],"entityId":"e-1","actor":"ann","message":{"text":"edited"}}}`,
			want:  `{"users":["ann","bo"],"topics":["e-1"],"exclude_users":["ann"],"data":{"text":"edited"}}`},
		{name: "a field the event lacks is none", expr: `{topics: [VehicleID, FleetID]}`, event: seed002Record,
			want: `{"topics":["v-42"],"data":` + seed002Record + `}`},
		{name: "a projection", expr: `{users: watchers[*].id, data: @}`, event: `{"watchers":[{"id":"ann"},{"name":"no id"},{"id":7}]}`,
			want: `{"users":["ann","7"],"data":{"watchers":[{"id":"ann"},{"name":"no id"},{"id":7}]}}`},
		{name: "naming no recipient broadcasts", expr: `{data: detail.message}`, event: seed003Event,
			want: `{"data":"Hello world"}`},
		{name: "an exclusion alone broadcasts to the others", expr: `{exclude_users: [detail.actor], data: detail}`, event: `{"detail":{"actor":"ann"}}`,
			want: `{"exclude_users":["ann"],"data":{"actor":"ann"}}`},

		{name: "seed 003 without entityId", expr: seed003Mapping, event: `{"detail-type":"Entity Updated","source":"s","detail":{"message":"hi"}}`,
			err: `mapping "{topics: [detail.entityId], data: detail.message}" gave no topics and no users for this event`},
		{name: "seed 002 without VehicleID", expr: seed002Mapping, event: `{"lat":52.52}`, err: "gave no topics and no users"},
		{name: "no broadcast of empty lists", expr: `{topics: t, users: u}`, event: `{"t":[],"u":[]}`, err: "gave no topics and no users"},
		{name: "no broadcast of nulls", expr: `{users: u, data: @}`, event: `{"u":null}`, err: "gave no topics and no users"},
		{name: "no broadcast of an exclusion", expr: `{topics: [t], exclude_users: [x]}`, event: `{"x":"ann"}`, err: "gave no topics and no users"},
		{name: "no data", expr: seed003Mapping, event: `{"detail":{"entityId":"e-1"}}`, err: "data: the event has none (null)"},
		{name: "topics an object", expr: `{topics: detail}`, event: seed003Event, err: "topics: an object, not a list of strings"},
		{name: "a boolean id", expr: `{users: [flag]}`, event: `{"flag":true}`, err: "users: [0] is a boolean, not a string"},
		{name: "a list id", expr: `{users: [ids]}`, event: `{"ids":["a"]}`, err: "users: [0] is a list, not a string"},
		{name: "a function on the wrong type", expr: `{topics: [VehicleID], data: sum(VehicleID)}`, event: seed002Record, err: `mapping "{topics: [VehicleID], data: sum(VehicleID)}": `},
		{name: "an event of another shape", expr: seed002Mapping, event: `[1,2]`, err: "gave no topics and no users"},
		{name: "null", expr: seed002Mapping, event: `null`, err: "gave no topics and no users"},
		{name: "not JSON", expr: seed002Mapping, event: `VehicleID=v-42`, err: "event is not JSON"},
		{name: "empty", expr: seed002Mapping, event: ``, err: "event is not JSON"},
		{name: "two values", expr: seed002Mapping, event: `{"VehicleID":"a"} {"VehicleID":"b"}`, err: "event is not one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := handlers.CompileMapping(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Request([]byte(tt.event))
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Request(%s) = %s, %v; want an error with %q", tt.event, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Request(%s): %v", tt.event, err)
			}
			if !sameJSON(t, got, []byte(tt.want)) {
				t.Errorf("Request(%s)\n = %s\nwant %s", tt.event, got, tt.want)
			}
		})
	}
}

// TestMappingReasonsKeepEventsOut: a reason is logged and kept with the parked event,
// which is not to be spilled into the logs: it names the type of what a mapping gave,
// never its value.
func TestMappingReasonsKeepEventsOut(t *testing.T) {
	const secret = "s3cr3t-c0ntent"
	for _, tc := range []struct{ expr, event string }{
		{`{topics: detail}`, `{"detail":{"token":"` + secret + `"}}`},
		{`{users: [detail]}`, `{"detail":["` + secret + `"]}`},
		{`{topics: [t], data: d}`, `{"t":"x","d":null,"other":"` + secret + `"}`},
		{`{users: [u]}`, `{"note":"` + secret + `"}`},
	} {
		m, err := handlers.CompileMapping(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Request([]byte(tc.event))
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("Request(%s) with %s: %v; want an error that does not quote the event", tc.event, tc.expr, err)
		}
	}
}

// TestDecodeFromASource reads events as the decode stage does, by the source their
// message names: with the source's mapping, or, without one, the event as a request
// (an EventBridge event's detail).
func TestDecodeFromASource(t *testing.T) {
	compile := func(expr string) *handlers.Mapping {
		m, err := handlers.CompileMapping(expr)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	mapped := handlers.Decoder{Mappings: map[string]*handlers.Mapping{
		handlers.SourceKinesis: compile(seed002Mapping), handlers.SourceEventBridge: compile(seed003Mapping),
	}}
	bare := handlers.Decoder{}
	tests := []struct {
		name    string
		d       handlers.Decoder
		source  string
		body    string
		topics  []string
		data    string
		refused string // in the error; "" when decoded
	}{
		{name: "a vehicle's record", d: mapped, source: handlers.SourceKinesis, body: seed002Record,
			topics: []string{"v-42"}, data: seed002Record},
		{name: "seed 003's event", d: mapped, source: handlers.SourceEventBridge, body: seed003Event,
			topics: []string{"myTestEntityId"}, data: `"Hello world"`},
		{name: "a request is read as one", d: mapped, source: "", body: `{"topics":["t"],"data":1}`, topics: []string{"t"}, data: "1"},
		{name: "a record without a mapping is a request", d: bare, source: handlers.SourceKinesis, body: `{"topics":["v-42"],"data":{"lat":1}}`,
			topics: []string{"v-42"}, data: `{"lat":1}`},
		{name: "an event without a mapping carries one as its detail", d: bare, source: handlers.SourceEventBridge,
			body: `{"id":"e-1","detail-type":"Notify","source":"s","detail":{"topics":["e-1"],"data":"hi"}}`, topics: []string{"e-1"}, data: `"hi"`},
		{name: "an event the mapping cannot read", d: mapped, source: handlers.SourceEventBridge, body: `{"detail":{"message":"hi"}}`,
			refused: `decode eventbridge event: mapping "{topics: [detail.entityId], data: detail.message}" gave no topics and no users for this event`},
		{name: "a request the mapping makes that does not validate", d: mapped, source: handlers.SourceKinesis, body: `{"VehicleID":""}`,
			refused: `decode kinesis event: "topics"[0] is an empty topic`},
		{name: "an event without a detail", d: bare, source: handlers.SourceEventBridge, body: `{"id":"e-1"}`,
			refused: `decode eventbridge event: no "detail" field`},
		{name: "a record that is not a request", d: bare, source: handlers.SourceKinesis, body: seed002Record, refused: `no "data" field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.d.DecodeFrom(tt.source, []byte(tt.body))
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) || !handlers.IsPermanent(err) {
					t.Fatalf("DecodeFrom(%q, %s) = %+v, %v; want a permanent error with %q", tt.source, tt.body, req, err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeFrom(%q, %s): %v", tt.source, tt.body, err)
			}
			if !reflect.DeepEqual(req.Topics, tt.topics) || string(req.Data) != tt.data || len(req.Users) != 0 {
				t.Errorf("DecodeFrom(%q, %s) = topics %q users %q data %s; want topics %q data %s", tt.source, tt.body, req.Topics, req.Users, req.Data, tt.topics, tt.data)
			}
		})
	}
}

// sameJSON reports whether a and b are the same JSON, numbers compared as written.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// TestMappingKeepsTheEventsText: a client receives the event's JSON as the producer
// wrote it, <, > and & included, as it receives a request's data.
func TestMappingKeepsTheEventsText(t *testing.T) {
	const event = `{"VehicleID":"v-42","detail":{"entityId":"e-1","message":"<b>A & B</b>"}}`
	for expr, want := range map[string]string{
		seed002Mapping: `{"data":` + event + `,"topics":["v-42"]}`,
		seed003Mapping: `{"data":"<b>A & B</b>","topics":["e-1"]}`,
	} {
		m, err := handlers.CompileMapping(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.Request([]byte(event)); err != nil || string(got) != want {
			t.Errorf("%s: Request = %s, %v; want %s", expr, got, err, want)
		}
	}
}
