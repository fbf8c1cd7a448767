package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	jmespath "github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// The sources a message can come from in a form other than a request, which decode
// reads it by (see Decoder.DecodeFrom). The empty source is a request.
const (
	// SourceEventBridge is an EventBridge event: delivered to the function by a rule,
	// or to a queue by a rule whose target is the queue. Without a mapping its detail
	// is the request.
	SourceEventBridge = "eventbridge"
	// SourceKinesis is the data of a Kinesis record: handed to the function by an
	// event source mapping, or to a queue by an EventBridge Pipe. Without a mapping it
	// is the request.
	SourceKinesis = "kinesis"
)

// Sources are the sources a Mapping can be given for, in the order the settings list
// them.
var Sources = []string{SourceEventBridge, SourceKinesis}

// mappingKeys are the keys a mapping builds a request of.
var mappingKeys = []string{"topics", "users", "exclude_users", "data"}

// Mapping turns an event that is not a request into one: a JMESPath expression (the
// path language of the AWS CLI's --query) that builds the request as a multiselect
// hash, such as seed 002's `{topics: [VehicleID]}` or seed 003's
// `{topics: [detail.entityId], data: detail.message}`. Its keys are topics, users,
// exclude_users and data:
//   - topics, users and exclude_users give a list of strings, a string (one), or
//     numbers, read as their JSON text; null, and a null in the list (a field the
//     event lacks, as in [VehicleID]), is none;
//   - data gives the data; without the key it is the whole event.
//
// A mapping that names topics or users never broadcasts: an event for which they give
// no recipient cannot be read by it, rather than reaching everyone.
//
// JMESPath compares, sums and sorts float64 numbers only: an event's numbers of up to
// 15 significant digits, which a float64 holds exactly, are read as such, so that
// filters such as readings[?temp > `30`] work; a number of more digits, such as an id
// of 20, is kept as written, exact but opaque to those functions. A number becomes an
// id, or part of data, as its shortest JSON text (42, 52.52; 1.0 as 1), or as written
// when it has more digits. A Mapping is safe for concurrent use.
type Mapping struct {
	expr     string
	compiled jmespath.JMESPath
	keys     []string // the keys the expression builds
}

// CompileMapping compiles expr, which must be a multiselect hash of the keys of a
// request (see Mapping).
func CompileMapping(expr string) (*Mapping, error) {
	ast, err := parsing.NewParser().Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("mapping %q: %w", expr, err)
	}
	if ast.NodeType != parsing.ASTMultiSelectHash {
		return nil, fmt.Errorf("mapping %q: not a multiselect hash such as {topics: [VehicleID], data: @}", expr)
	}
	m := &Mapping{expr: expr}
	for _, pair := range ast.Children {
		key, _ := pair.Value.(string)
		switch {
		case !slices.Contains(mappingKeys, key):
			return nil, fmt.Errorf("mapping %q: key %q is not one of %s", expr, key, strings.Join(mappingKeys, ", "))
		case slices.Contains(m.keys, key):
			return nil, fmt.Errorf("mapping %q: key %q given twice", expr, key)
		}
		m.keys = append(m.keys, key)
	}
	if m.compiled, err = jmespath.Compile(expr); err != nil {
		return nil, fmt.Errorf("mapping %q: %w", expr, err)
	}
	return m, nil
}

// String returns the expression.
func (m *Mapping) String() string { return m.expr }

// Request returns the JSON of the request that m makes of event, for Decoder to read,
// or why it cannot: event is not JSON, or the expression gives no recipient it names,
// or something that is not a list of ids.
func (m *Mapping) Request(event []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber() // numbers pass through as written: no float64 rounding of ids
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("event is not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("event is not one JSON value")
	}
	out, err := m.compiled.Search(numbers(doc))
	if err != nil {
		return nil, fmt.Errorf("mapping %q: %w", m.expr, err)
	}
	fields, _ := out.(map[string]any) // a multiselect hash of a non-null event
	if fields == nil {
		return nil, fmt.Errorf("mapping %q gave %s", m.expr, describe(out))
	}
	req := map[string]any{}
	recipients := 0
	for _, key := range []string{"topics", "users", "exclude_users"} {
		ids, err := idList(fields[key])
		if err != nil {
			return nil, fmt.Errorf("mapping %q: %s: %w", m.expr, key, err)
		}
		if len(ids) > 0 {
			req[key] = ids
		}
		if key != "exclude_users" {
			recipients += len(ids)
		}
	}
	if recipients == 0 && (slices.Contains(m.keys, "topics") || slices.Contains(m.keys, "users")) {
		return nil, fmt.Errorf("mapping %q gave no topics and no users for this event", m.expr)
	}
	req["data"] = json.RawMessage(event)
	if slices.Contains(m.keys, "data") {
		if fields["data"] == nil {
			return nil, fmt.Errorf("mapping %q: data: the event has none (null)", m.expr)
		}
		req["data"] = fields["data"]
	}
	// Not json.Marshal, which would escape <, > and & in data: the frame is the
	// event's JSON as the producer wrote it, as a request's data is.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("mapping %q: %w", m.expr, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// idList reads what an expression gave for a list of ids.
func idList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string, json.Number, float64:
		return idList([]any{v})
	case []any:
		ids := make([]string, 0, len(v))
		for i, e := range v {
			switch e := e.(type) {
			case nil: // a field the event lacks: none
			case string:
				ids = append(ids, e)
			case json.Number:
				ids = append(ids, e.String())
			case float64:
				b, err := json.Marshal(e)
				if err != nil {
					return nil, fmt.Errorf("[%d] is not a finite number", i)
				}
				ids = append(ids, string(b))
			default:
				return nil, fmt.Errorf("[%d] is %s, not a string", i, describe(e))
			}
		}
		return ids, nil
	}
	return nil, fmt.Errorf("%s, not a list of strings", describe(v))
}

// numbers turns the numbers of an event decoded with UseNumber into float64s where a
// float64 holds their value exactly (see Mapping), in place, and returns v.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if f, ok := exactFloat(v); ok {
			return f
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	}
	return v
}

// exactFloat returns n as a float64 when it has 15 significant digits at most and is
// zero or of a normal float64's magnitude: any such decimal is the value of the
// shortest text of its float64 (a float64 tells 15 decimal digits apart), so nothing is
// lost. strconv.ParseFloat rounds a number too small for a float64 to zero, with no
// error.
func exactFloat(n json.Number) (float64, bool) {
	digits, leading := 0, true
	for _, c := range n.String() {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '1' && c <= '9' || c == '0' && !leading {
			digits, leading = digits+1, false
		}
	}
	f, err := n.Float64()
	if err != nil || digits > 15 {
		return 0, false
	}
	return f, (f == 0 && digits == 0) || math.Abs(f) >= 0x1p-1022
}

// describe names the JSON type of v for an error, never its value: an event's content
// stays out of the logs.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
