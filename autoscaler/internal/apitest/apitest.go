// Package apitest makes client-go's fake clientset behave like the API
// server where tests of guarded writes need it: resourceVersions are set on
// create and update, and an update carrying a stale resourceVersion fails
// with a Conflict. It also counts writes. Tests only.
package apitest

import (
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
)

// Faker is a fake clientset (its Tracker and reactor chain).
type Faker interface {
	Tracker() clienttesting.ObjectTracker
	PrependReactor(verb, resource string, reaction clienttesting.ReactionFunc)
}

// Versions enforces resourceVersions on the writes of resource in c.
type Versions struct {
	mu     sync.Mutex
	next   int
	writes map[string]int // by verb
	// Fail, when set, is called before every write; a non-nil error fails it.
	fail func(clienttesting.Action) error
}

// Enforce installs the resourceVersion checks for resource ("configmaps",
// "deployments", ...) in group/version gv on c and returns the counter of
// its writes.
func Enforce(c Faker, gvr schema.GroupVersionResource) *Versions {
	v := &Versions{next: 100, writes: map[string]int{}}
	c.PrependReactor("update", gvr.Resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		obj := a.(clienttesting.UpdateAction).GetObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		if err := v.failed(a); err != nil {
			return true, nil, err
		}
		cur, err := c.Tracker().Get(gvr, a.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		cm, _ := meta.Accessor(cur)
		if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
				fmt.Errorf("the object has been modified; resourceVersion %s, stored %s", rv, cm.GetResourceVersion()))
		}
		v.count("update")
		m.SetResourceVersion(v.bump())
		return false, nil, nil // the default reactor stores it
	})
	c.PrependReactor("create", gvr.Resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		if err := v.failed(a); err != nil {
			return true, nil, err
		}
		m, err := meta.Accessor(a.(clienttesting.CreateAction).GetObject())
		if err != nil {
			return true, nil, err
		}
		if _, err := c.Tracker().Get(gvr, a.GetNamespace(), m.GetName()); err == nil {
			return true, nil, apierrors.NewAlreadyExists(gvr.GroupResource(), m.GetName())
		}
		v.count("create")
		m.SetResourceVersion(v.bump())
		return false, nil, nil
	})
	c.PrependReactor("delete", gvr.Resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		if err := v.failed(a); err != nil {
			return true, nil, err
		}
		v.count("delete")
		return false, nil, nil
	})
	return v
}

// FailWith makes every later write of the resource call f first; a non-nil
// result fails the write. Nil removes it.
func (v *Versions) FailWith(f func(clienttesting.Action) error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.fail = f
}

func (v *Versions) failed(a clienttesting.Action) error {
	v.mu.Lock()
	f := v.fail
	v.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(a)
}

func (v *Versions) bump() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next++
	return strconv.Itoa(v.next)
}

func (v *Versions) count(verb string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.writes[verb]++
}

// Writes returns the number of successful creates, updates and deletes.
func (v *Versions) Writes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.writes["create"] + v.writes["update"] + v.writes["delete"]
}
