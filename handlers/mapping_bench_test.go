package handlers_test

import (
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// BenchmarkMapping is the cost of reading one event with a mapping, to a request
// decoded: what a Kinesis record of seed 002 and an EventBridge event of seed 003 cost
// the decode stage beyond a request's own decoding (BenchmarkMapping/request).
func BenchmarkMapping(b *testing.B) {
	cases := []struct {
		name, source, expr, event string
	}{
		{"kinesis", handlers.SourceKinesis, "{topics: [VehicleID]}",
			`{"VehicleID":"v-42","lat":48.858370,"lng":2.294481,"speed_kmh":37.5,"heading":271,"at":"2026-12-07T02:00:00Z"}`},
		{"eventbridge", handlers.SourceEventBridge, "{topics: [detail.entityId], data: detail.message}",
			`{"version":"0","id":"4e2a9b4c-1f3d-4a8e-9c5b-7d6e8f9a0b1c","detail-type":"Entity Updated","source":"entities",` +
				`"account":"123456789012","time":"2026-12-07T02:00:00Z","region":"us-east-1","resources":[],` +
				`"detail":{"entityId":"myTestEntityId","message":{"text":"Hello world"}}}`},
		{"request", "", "", `{"topics":["v-42"],"data":{"VehicleID":"v-42","lat":48.858370,"lng":2.294481,"speed_kmh":37.5,"heading":271,"at":"2026-12-07T02:00:00Z"}}`},
	}
	for _, c := range cases {
		d := handlers.Decoder{}
		if c.expr != "" {
			m, err := handlers.CompileMapping(c.expr)
			if err != nil {
				b.Fatal(err)
			}
			d.Mappings = map[string]*handlers.Mapping{c.source: m}
		}
		event := []byte(c.event)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.DecodeFrom(c.source, event); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
