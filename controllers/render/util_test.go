package render

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj, fields...)
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	return unstructured.NestedSlice(obj, fields...)
}

type unstructuredObj = unstructured.Unstructured

func wrap(objs []*unstructured.Unstructured) []*unstructuredObj { return objs }

func unstructuredMap(obj map[string]any, fields ...string) (map[string]string, bool, error) {
	return unstructured.NestedStringMap(obj, fields...)
}
