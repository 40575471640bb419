package tools

import (
	"fmt"
	"slices"
)

// Rule is one RBAC policy rule.
type Rule struct {
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

// RoleRules extracts the rules of a Role object.
func RoleRules(role Object) ([]Rule, error) {
	raw, ok := role["rules"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: rules missing or not a list", role)
	}
	rules := make([]Rule, 0, len(raw))
	for i, r := range raw {
		m, _ := r.(map[string]any)
		rule := Rule{APIGroups: stringList(m["apiGroups"]), Resources: stringList(m["resources"]), Verbs: stringList(m["verbs"])}
		if len(rule.APIGroups) == 0 || len(rule.Resources) == 0 || len(rule.Verbs) == 0 {
			return nil, fmt.Errorf("%s: rules[%d] needs apiGroups, resources and verbs", role, i)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Allows reports whether rules grant verb on resource (e.g. "deployments/scale")
// in group, with RBAC's wildcard semantics: "*" in apiGroups or verbs, and
// "*/sub" in resources matching any resource's subresource.
func Allows(rules []Rule, group, resource, verb string) bool {
	for _, r := range rules {
		if matchesAny(r.APIGroups, group) && matchesAny(r.Verbs, verb) && matchesResource(r.Resources, resource) {
			return true
		}
	}
	return false
}

func matchesAny(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

func matchesResource(list []string, resource string) bool {
	if matchesAny(list, resource) {
		return true
	}
	for i := 0; i < len(resource); i++ {
		if resource[i] == '/' {
			return slices.Contains(list, "*"+resource[i:])
		}
	}
	return false
}
