package render

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Memo keeps the last successful render of each subscription, with what the render depends on, so
// that a reconcile renders a subscription once per change of its inputs rather than at every
// wake-up of its tenant: a kustomize build allocates about 1.5 MB and takes a lock that every
// render shares, and a tenant wakes up several times while its workloads start. The objects are
// kept as JSON, a fraction of their size as nested maps, and decoded afresh for each caller, who
// may change them. A render that fails is never kept: it is tried again the next time.
//
// A slot is one subscription: the tenant's (or the instance's) namespace and the application.
// Slots of a namespace are dropped with Forget when its tenant goes. A nil Memo keeps nothing and
// renders every time.
type Memo struct {
	mu    sync.Mutex
	slots map[string]memoEntry
}

type memoEntry struct {
	inputs  [sha256.Size]byte
	objects [][]byte
}

// renderInputs is everything a render reads: the catalogue entry is named by its identity and
// generation (its spec changes the generation), the tenant and the policy's rules by value.
type renderInputs struct {
	App          types.UID
	Generation   int64
	Tenant       Tenant
	ServiceTypes []v1alpha1.ServiceType
}

// Render is Render, answered from the memo when its inputs are those of the slot's last render.
func (m *Memo) Render(app *v1alpha1.SharedApplication, t Tenant, opts Options) ([]*unstructured.Unstructured, error) {
	if m == nil {
		return Render(app, t, opts)
	}
	slot := t.Namespace + "/" + app.Name
	raw, err := json.Marshal(renderInputs{App: app.UID, Generation: app.Generation, Tenant: t, ServiceTypes: opts.AllowedServiceTypes})
	if err != nil {
		return nil, err
	}
	inputs := sha256.Sum256(raw)
	m.mu.Lock()
	entry, found := m.slots[slot]
	m.mu.Unlock()
	if found && entry.inputs == inputs {
		return decodeAll(entry.objects)
	}
	objs, err := Render(app, t, opts)
	if err != nil {
		return nil, err
	}
	encoded := make([][]byte, 0, len(objs))
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		encoded = append(encoded, data)
	}
	m.mu.Lock()
	if m.slots == nil {
		m.slots = map[string]memoEntry{}
	}
	m.slots[slot] = memoEntry{inputs: inputs, objects: encoded}
	m.mu.Unlock()
	return objs, nil
}

// Forget drops the renders of every subscription of a namespace.
func (m *Memo) Forget(namespace string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for slot := range m.slots {
		if strings.HasPrefix(slot, namespace+"/") {
			delete(m.slots, slot)
		}
	}
}

// Len is the number of subscriptions whose render is kept.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.slots)
}

func decodeAll(encoded [][]byte) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(encoded))
	for _, data := range encoded {
		u := &unstructured.Unstructured{}
		// the unstructured decoder keeps integers as int64, as a render gives them
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
