package dataversesim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// row is an entity record by property name, as the Web API shows it.
type row map[string]any

// filter is a parsed OData $filter: comparisons joined with and/or, with parentheses.
// Only what the operator sends is understood; anything else is refused with 400, as
// Dataverse refuses what it cannot parse.
type filter interface {
	match(r row) bool
}

type comparison struct {
	property string
	value    any
}

func (c comparison) match(r row) bool {
	v := r[c.property]
	switch want := c.value.(type) {
	case string:
		got, _ := v.(string)
		return strings.EqualFold(got, want) // Dataverse string comparison is case-insensitive
	case nil:
		return v == nil || v == ""
	default:
		return fmt.Sprint(v) == fmt.Sprint(want)
	}
}

type logical struct {
	and         bool
	left, right filter
}

func (l logical) match(r row) bool {
	if l.and {
		return l.left.match(r) && l.right.match(r)
	}
	return l.left.match(r) || l.right.match(r)
}

// parseFilter parses expr against the properties an entity has.
func parseFilter(expr string, properties map[string]bool, entity string) (filter, error) {
	p := &filterParser{tokens: tokenize(expr), properties: properties, entity: entity}
	if len(p.tokens) == 0 {
		return nil, fmt.Errorf("the $filter expression is empty")
	}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.tokens) {
		return nil, fmt.Errorf("syntax error at position %d in '%s'", p.pos, expr)
	}
	return f, nil
}

type filterParser struct {
	tokens     []string
	pos        int
	properties map[string]bool
	entity     string
}

func (p *filterParser) peek() string {
	if p.pos < len(p.tokens) {
		return p.tokens[p.pos]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *filterParser) or() (filter, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "or" {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = logical{and: false, left: left, right: right}
	}
	return left, nil
}

func (p *filterParser) and() (filter, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.peek() == "and" {
		p.next()
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		left = logical{and: true, left: left, right: right}
	}
	return left, nil
}

func (p *filterParser) term() (filter, error) {
	if p.peek() == "(" {
		p.next()
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("')' expected")
		}
		return f, nil
	}
	prop := p.next()
	if !p.properties[prop] {
		return nil, fmt.Errorf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", prop, p.entity) //nolint:revive // Dataverse's message, word for word
	}
	if op := p.next(); op != "eq" {
		return nil, fmt.Errorf("operator '%s' is not supported here", op)
	}
	v, err := literal(p.next())
	if err != nil {
		return nil, err
	}
	return comparison{property: prop, value: v}, nil
}

// literal reads 'string' (with ” for a quote), a GUID, a number, true, false or null.
func literal(t string) (any, error) {
	switch {
	case strings.HasPrefix(t, "'"):
		if len(t) < 2 || !strings.HasSuffix(t, "'") {
			return nil, fmt.Errorf("unterminated string literal %s", t)
		}
		return strings.ReplaceAll(t[1:len(t)-1], "''", "'"), nil
	case t == "true", t == "false":
		return t == "true", nil
	case t == "null":
		return nil, nil
	case isGUID(t):
		return strings.ToLower(t), nil
	}
	if n, err := strconv.Atoi(t); err == nil {
		return n, nil
	}
	return nil, fmt.Errorf("'%s' is not a valid literal", t)
}

// tokenize splits a $filter into words, parentheses and quoted strings.
func tokenize(s string) []string {
	var tokens []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			tokens = append(tokens, string(c))
			i++
		case c == '\'':
			j := i + 1
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(s))
			tokens = append(tokens, s[i:end])
			i = end
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' {
				j++
			}
			tokens = append(tokens, s[i:j])
			i = j
		}
	}
	return tokens
}

// checkSelect refuses a $select naming a property the entity lacks.
func checkSelect(sel string, properties map[string]bool, entity string) error {
	if sel == "" {
		return nil
	}
	for _, p := range strings.Split(sel, ",") {
		if !properties[strings.TrimSpace(p)] {
			return fmt.Errorf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", strings.TrimSpace(p), entity) //nolint:revive // Dataverse's message, word for word
		}
	}
	return nil
}

// project keeps the selected properties (all when sel is empty).
func project(r row, sel string) row {
	if sel == "" {
		return r
	}
	out := row{}
	for _, p := range strings.Split(sel, ",") {
		p = strings.TrimSpace(p)
		out[p] = r[p]
	}
	return out
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

func propertySet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}
