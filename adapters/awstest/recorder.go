package awstest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Recorder is a proxy in front of an AWS endpoint of the JSON protocol (dynalite's,
// or the SQS endpoint of a Stack) that counts the calls passed through it by
// operation, the part of X-Amz-Target after the dot (AmazonSQS.ReceiveMessage counts
// as ReceiveMessage). Point a client at URL (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SQS) to have its calls counted: what they cost.
//
// Of DynamoDB's reads (Query, Scan, GetItem, BatchGetItem) it also records the read
// units consumed: it asks for them by adding "ReturnConsumedCapacity":"TOTAL" to the
// call, unless the caller asked, and adds up the ConsumedCapacity of the answers.
// dynalite reckons them as DynamoDB documents: the items read by one call (not the
// attributes projected) summed, rounded up to 4 KB, half a unit per 4 KB for an
// eventually consistent read. The caller gets ConsumedCapacity in its answer too,
// which it ignores; the signature of the changed call no longer matches, which
// dynalite does not check.
type Recorder struct {
	// URL is the endpoint as the recorded client sees it.
	URL string

	mu    sync.Mutex
	calls map[string]int
	units map[string]float64 // read units, by operation
}

// NewRecorder starts, until the test ends, a Recorder in front of the endpoint.
func NewRecorder(t testing.TB, endpoint string) *Recorder {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{calls: map[string]int{}, units: map[string]float64{}}
	proxy := NewProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		op := operation(resp.Request)
		if !dynamoDBRead(op) || resp.Header.Get("Content-Encoding") != "" {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var out struct {
			ConsumedCapacity json.RawMessage
		}
		if json.Unmarshal(body, &out) != nil || len(out.ConsumedCapacity) == 0 {
			return nil
		}
		// One object for Query, Scan and GetItem; a list, one per table, for
		// BatchGetItem.
		var one struct{ CapacityUnits float64 }
		var many []struct{ CapacityUnits float64 }
		units := 0.0
		if json.Unmarshal(out.ConsumedCapacity, &one) == nil {
			units = one.CapacityUnits
		} else if json.Unmarshal(out.ConsumedCapacity, &many) == nil {
			for _, c := range many {
				units += c.CapacityUnits
			}
		}
		rec.mu.Lock()
		rec.units[op] += units
		rec.mu.Unlock()
		return nil
	}
	rec.URL = ServeUntilCleanup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		rec.mu.Lock()
		if op != "" {
			rec.calls[op]++
		}
		rec.mu.Unlock()
		if dynamoDBRead(op) {
			if err := askForCapacity(r); err != nil {
				return // the client is gone
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	return rec
}

// operation returns the operation of an AWS JSON-protocol call, such as Query or
// ReceiveMessage; "" for another request.
func operation(r *http.Request) string {
	target := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return ""
}

func dynamoDBRead(op string) bool {
	switch op {
	case "Query", "Scan", "GetItem", "BatchGetItem":
		return true
	}
	return false
}

// askForCapacity adds "ReturnConsumedCapacity":"TOTAL" to r's JSON body, unless it
// names one already.
func askForCapacity(r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return err
	}
	var call map[string]json.RawMessage
	if json.Unmarshal(body, &call) == nil {
		if _, asked := call["ReturnConsumedCapacity"]; !asked {
			call["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
			if changed, err := json.Marshal(call); err == nil {
				body = changed
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// RecordedCalls is what a Recorder saw: the calls by operation, and the read units
// consumed by operation.
type RecordedCalls struct {
	Calls map[string]int
	Units map[string]float64
}

// Snapshot returns what the Recorder saw so far.
func (rec *Recorder) Snapshot() RecordedCalls {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return RecordedCalls{Calls: maps.Clone(rec.calls), Units: maps.Clone(rec.units)}
}

// Since returns what was recorded after before, a Snapshot taken earlier.
func (c RecordedCalls) Since(before RecordedCalls) RecordedCalls {
	d := RecordedCalls{Calls: map[string]int{}, Units: map[string]float64{}}
	for op, n := range c.Calls {
		if n -= before.Calls[op]; n != 0 {
			d.Calls[op] = n
		}
	}
	for op, u := range c.Units {
		if u -= before.Units[op]; u != 0 {
			d.Units[op] = u
		}
	}
	return d
}

// TotalCalls returns the calls of every operation.
func (c RecordedCalls) TotalCalls() int {
	n := 0
	for _, v := range c.Calls {
		n += v
	}
	return n
}

// TotalUnits returns the read units of every operation.
func (c RecordedCalls) TotalUnits() float64 {
	u := 0.0
	for _, v := range c.Units {
		u += v
	}
	return u
}
