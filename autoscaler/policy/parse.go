package policy

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Parse decodes a policy file (YAML or JSON) strictly and validates it. Every
// unknown field is an error naming its path (e.g.
// "targets[0].horizontal.metrics[1].pods.metrik"); a duplicate key or a value
// of the wrong type is an error too. Validation problems are joined: the
// error lists every one, each naming the target, field and value. The
// returned policy is nil whenever the error is not.
func Parse(data []byte) (*Policy, error) {
	p, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// decode is Parse without the validation.
func decode(data []byte) (*Policy, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("policy is not valid YAML: %w", err)
	}
	var generic any
	if err := json.Unmarshal(j, &generic); err != nil {
		return nil, fmt.Errorf("policy is not valid YAML: %w", err)
	}
	if generic == nil {
		return nil, errors.New("policy is empty")
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, fmt.Errorf("policy must be a mapping with defaults, prometheus and targets, got %s", jsonKind(generic))
	}
	var unknown []error
	unknownFields(generic, reflect.TypeFor[Policy](), "", &unknown)
	if len(unknown) > 0 {
		return nil, errors.Join(unknown...)
	}
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("decode policy: %w", err)
	}
	return &p, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return fmt.Sprintf("%T", v)
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownFields walks the generic JSON value v along the Go type t and
// appends an error for every object key t has no field for. Types with their
// own JSON decoding (quantities, durations) and interface values are leaves.
func unknownFields(v any, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type error; the strict decoder reports it
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown field %q", join(path, k), k))
				continue
			}
			unknownFields(obj[k], ft, join(path, k), errs)
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for _, k := range sortedKeys(obj) {
				unknownFields(obj[k], t.Elem(), join(path, k), errs)
			}
		}
	case reflect.Slice, reflect.Array:
		if list, ok := v.([]any); ok {
			for i, e := range list {
				unknownFields(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	}
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of t's fields to their types, following
// embedded structs without a name as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					fields[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// UnmarshalJSON reads a Go duration string such as "15s" or "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"15s\" or \"5m\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}
