package controllers

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

type unstructuredObject struct{ unstructured.Unstructured }

func (u *unstructuredObject) fromYAML(doc string) error {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		return err
	}
	if len(m) == 0 {
		return nil
	}
	u.Object = m
	return nil
}
