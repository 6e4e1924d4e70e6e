package validate

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/config/crd"
)

// kindSchema is one kind's schema of the served version, in the forms the API server's own
// validation packages take.
type kindSchema struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	celRules   *cel.Validator
	namespaced bool
}

// Schemas are the schemas of mutualis's kinds, by kind, read from the generated CRDs.
type Schemas map[string]*kindSchema

// LoadSchemas reads the CRDs that config/crd embeds.
func LoadSchemas() (Schemas, error) {
	out := Schemas{}
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := crd.Bases.ReadFile(f)
		if err != nil {
			return nil, err
		}
		def := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, def); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range def.Spec.Versions {
			if v.Name != v1alpha1.GroupVersion.Version || v.Schema == nil {
				continue
			}
			internal := &apiextensionsinternal.JSONSchemaProps{}
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			structural, err := structuralschema.NewStructural(internal)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			validator, _, err := apiservervalidation.NewSchemaValidator(internal)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out[def.Spec.Names.Kind] = &kindSchema{
				structural: structural,
				validator:  validator,
				celRules:   cel.NewValidator(structural, true, celconfig.PerCallLimit),
				namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped,
			}
		}
	}
	return out, nil
}

// Kinds are the kinds the schemas know, sorted.
func (s Schemas) Kinds() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check runs what the API server runs on a create, in its order: unknown fields (rejected, as
// server-side apply's strict field validation does), object metadata, defaults, the OpenAPI
// schema, list types, then the CEL rules. It defaults obj in place, so that the cross-object
// checks see what the cluster would store.
func (k *kindSchema) check(ctx context.Context, obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	unknown := structuralpruning.PruneWithOptions(obj, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	sort.Strings(unknown)
	for _, p := range unknown {
		errs = append(errs, field.Forbidden(pathOf(p), "the schema has no such field (a typo?): server-side apply rejects it"))
	}
	if err := objectmeta.Coerce(nil, obj, k.structural, true, false); err != nil {
		return append(errs, err)
	}
	meta, _, err := objectmeta.GetObjectMeta(obj, false)
	if err != nil {
		return append(errs, field.Invalid(field.NewPath("metadata"), nil, err.Error()))
	}
	if meta.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "every object needs a name"))
	} else {
		for _, msg := range validation.NameIsDNSSubdomain(meta.Name, false) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), meta.Name, msg))
		}
	}
	if meta.Namespace != "" && !k.namespaced {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), meta.Namespace, "this kind is cluster-scoped: remove metadata.namespace"))
	}
	errs = append(errs, objectmeta.Validate(ctx, nil, obj, k.structural, true)...)
	structuraldefaulting.Default(obj, k.structural)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, k.validator)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, k.structural, obj)...)
	// as the API server does, the CEL rules run on an object the schema refused too, so that one
	// run reports both
	celErrs, _ := k.celRules.Validate(ctx, nil, k.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// pathOf turns a dotted path of the pruner (spec.applications[0].foo) into a field path.
func pathOf(p string) *field.Path {
	var out *field.Path
	for _, seg := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if out == nil {
			out = field.NewPath(name)
		} else {
			out = out.Child(name)
		}
		for rest != "" {
			idx, tail, _ := strings.Cut(rest, "]")
			var n int
			if _, err := fmt.Sscanf(idx, "%d", &n); err == nil {
				out = out.Index(n)
			} else {
				out = out.Key(idx)
			}
			rest = strings.TrimPrefix(tail, "[")
		}
	}
	return out
}
