package settings

import (
	"fmt"
	"strings"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Mappings defines the settings of the mappings that turn events of a source into
// requests (see handlers.Mapping): KINESIS_MAPPING and EVENTBRIDGE_MAPPING, for the
// modes that read those sources and for replay, which decodes their parked events
// again. An expression that does not compile stops start-up with one line naming its
// variable.
func Mappings(f *Flags, m *map[string]*handlers.Mapping) {
	help := map[string]string{
		handlers.SourceKinesis:     "JMESPath building a request of a Kinesis record's data, such as {topics: [VehicleID]}; unset: the data is a request",
		handlers.SourceEventBridge: "JMESPath building a request of an EventBridge event, such as {topics: [detail.entityId], data: detail.message}; unset: the detail is a request",
	}
	for _, source := range handlers.Sources {
		env := strings.ToUpper(source) + "_MAPPING"
		v := &mappingValue{to: m, source: source}
		if expr := f.env(env); expr != "" {
			if err := v.Set(expr); err != nil {
				f.bad = append(f.bad, fmt.Errorf("%s: %w", env, err))
			}
		}
		f.Var(v, source+"-mapping", usage(env, help[source]))
	}
}

// mappingValue is a flag.Value of the mapping of one source, compiled when set.
type mappingValue struct {
	to     *map[string]*handlers.Mapping
	source string
}

func (v *mappingValue) String() string {
	if v == nil || v.to == nil || (*v.to)[v.source] == nil {
		return ""
	}
	return (*v.to)[v.source].String()
}

func (v *mappingValue) Set(expr string) error {
	if strings.TrimSpace(expr) == "" { // unset, as an empty variable is
		delete(*v.to, v.source)
		return nil
	}
	m, err := handlers.CompileMapping(expr)
	if err != nil {
		return err
	}
	if *v.to == nil {
		*v.to = map[string]*handlers.Mapping{}
	}
	(*v.to)[v.source] = m
	return nil
}

// Get returns the expression, for flag.Getter.
func (v *mappingValue) Get() any { return v.String() }
