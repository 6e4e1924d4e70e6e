package apply

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Action is what the applier did to one object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Pruned     Action = "pruned"
)

// Change is what the applier did to one object.
type Change struct {
	Kind, Namespace, Name string
	Action                Action
}

func (c Change) String() string {
	if c.Namespace == "" {
		return fmt.Sprintf("%s/%s %s", c.Kind, c.Name, c.Action)
	}
	return fmt.Sprintf("%s %s/%s %s", c.Kind, c.Namespace, c.Name, c.Action)
}

// ChangeSet gathers the changes of one reconcile; the steps that apply at once add to it together.
type ChangeSet struct {
	mu      sync.Mutex
	changes []Change
}

// Add records changes; an unchanged object is counted, not listed.
func (s *ChangeSet) Add(changes ...Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, changes...)
}

// Changed are the changes that wrote something, sorted.
func (s *ChangeSet) Changed() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Change
	for _, c := range s.changes {
		if c.Action != Unchanged {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Count is how many objects met an action.
func (s *ChangeSet) Count(a Action) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Summary says in one line how many objects were created, configured, pruned and left unchanged,
// in that order, leaving out the actions no object met: "2 created, 1 pruned, 30 unchanged".
func (s *ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Pruned, Unchanged} {
		if n := s.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "nothing applied"
	}
	return strings.Join(parts, ", ")
}
