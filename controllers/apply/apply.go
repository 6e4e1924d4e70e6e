// Package apply writes desired objects with server-side apply under the single field owner
// mutualis, and only when something differs: the fields mutualis owns on the live object are
// extracted from its managed fields and compared with the desired configuration first, so a
// reconcile that finds the world as desired makes no request that writes.
package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Options of every apply: the one field owner, forcing ownership so that a field edited by hand
// (drift) is taken back.
var Options = []client.ApplyOption{client.FieldOwner(v1alpha1.FieldOwner), client.ForceOwnership}

// IfChanged applies desired unless owned, the configuration mutualis owns on the live object (nil
// when the object does not exist), already equals it. It reports whether it wrote.
func IfChanged(ctx context.Context, c client.Client, desired, owned runtime.ApplyConfiguration) (bool, error) {
	if owned != nil && !reflect.ValueOf(owned).IsNil() {
		same, err := Equal(desired, owned)
		if err != nil {
			return false, err
		}
		if same {
			return false, nil
		}
	}
	if err := c.Apply(ctx, desired, Options...); err != nil {
		return false, err
	}
	appliesTotal.WithLabelValues(kindOf(desired)).Inc()
	return true, nil
}

// Equal compares two apply configurations by their serialised form, which is what the API server
// would receive: quantities and other values compare in their canonical text.
func Equal(a, b runtime.ApplyConfiguration) (bool, error) {
	av, err := normalised(a)
	if err != nil {
		return false, err
	}
	bv, err := normalised(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(av, bv), nil
}

func normalised(ac runtime.ApplyConfiguration) (any, error) {
	raw, err := json.Marshal(ac)
	if err != nil {
		return nil, fmt.Errorf("serialising apply configuration: %w", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
