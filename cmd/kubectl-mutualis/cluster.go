package main

import (
	"flag"
	"fmt"

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
