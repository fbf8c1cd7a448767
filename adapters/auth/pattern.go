package auth

import "strings"

// userPlaceholder stands for the connection's own user in a pattern.
const userPlaceholder = "{user}"

// pattern is a topic pattern cut at its wildcards: a topic matches when it starts
// with the first part, ends with the last, and holds the parts between in order
// between them. A pattern without '*' is a single part, matched whole.
type pattern []string

// compile cuts p at its wildcards. {user} is left in the parts, for bind: cutting
// first keeps a '*' in a user id literal.
func compile(p string) pattern {
	return strings.Split(p, "*")
}

// hasUser reports whether p names {user}.
func (p pattern) hasUser() bool {
	for _, part := range p {
		if strings.Contains(part, userPlaceholder) {
			return true
		}
	}
	return false
}

// bind returns p with {user} replaced by user, literally. It is false when p names
// {user} and there is no user: such a pattern matches nothing.
func (p pattern) bind(user string) (pattern, bool) {
	if !p.hasUser() {
		return p, true
	}
	if user == "" {
		return nil, false
	}
	bound := make(pattern, len(p))
	for i, part := range p {
		bound[i] = strings.ReplaceAll(part, userPlaceholder, user)
	}
	return bound, true
}

// match reports whether topic matches p, which bind has bound.
func (p pattern) match(topic string) bool {
	if len(p) == 1 {
		return topic == p[0]
	}
	first, last := p[0], p[len(p)-1]
	if len(topic) < len(first)+len(last) || !strings.HasPrefix(topic, first) || !strings.HasSuffix(topic, last) {
		return false
	}
	rest := topic[len(first) : len(topic)-len(last)]
	// The leftmost place of each middle part leaves the most room for the next.
	for _, part := range p[1 : len(p)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return true
}

// matchAny reports whether topic matches one of patterns, {user} standing for user.
func matchAny(patterns []pattern, user, topic string) bool {
	for _, p := range patterns {
		if bound, ok := p.bind(user); ok && bound.match(topic) {
			return true
		}
	}
	return false
}

// compileAll compiles each of patterns.
func compileAll(patterns []string) []pattern {
	compiled := make([]pattern, len(patterns))
	for i, p := range patterns {
		compiled[i] = compile(p)
	}
	return compiled
}
