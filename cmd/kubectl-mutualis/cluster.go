package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// clusterConn is how the commands that read a live cluster (status, report, audit) reach it: kubectl's
// kubeconfig and context, as kubectl would.
type clusterConn struct{ kubeconfig, context *string }

func clusterFlags(fs *flag.FlagSet) *clusterConn {
	return &clusterConn{
		kubeconfig: fs.String("kubeconfig", "", "the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"),
		context:    fs.String("context", "", "the kubeconfig context"),
	}
}

func (c *clusterConn) client() (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *c.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *c.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reaching the cluster: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// outputFormat is the -o flag of a command that writes its result in a few formats.
type outputFormat struct {
	value   *string
	formats []string
}

// outputFlag declares -o with the formats the command writes, the first one the default.
func outputFlag(fs *flag.FlagSet, formats ...string) *outputFormat {
	return &outputFormat{value: fs.String("o", formats[0], inWords(formats)), formats: formats}
}

// get is the format asked for, or a usage error naming the formats there are.
func (o *outputFormat) get() (string, error) {
	if !slices.Contains(o.formats, *o.value) {
		return "", usageError(fmt.Sprintf("-o is %s, not %q", inWords(o.formats), *o.value))
	}
	return *o.value, nil
}

// inWords lists formats as a sentence does: "table, csv or markdown".
func inWords(formats []string) string {
	if len(formats) == 1 {
		return formats[0]
	}
	return strings.Join(formats[:len(formats)-1], ", ") + " or " + formats[len(formats)-1]
}
