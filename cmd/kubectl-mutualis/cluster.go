package main

import (
	"context"
	"flag"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// clusterConn is how the commands that read a live cluster (status, report) reach it: kubectl's
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
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// listTenants reads every Commune and CPAS of the cluster.
func listTenants(ctx context.Context, c client.Client) ([]v1alpha1.Tenant, error) {
	communes, cpas := &v1alpha1.CommuneList{}, &v1alpha1.CPASList{}
	if err := c.List(ctx, communes); err != nil {
		return nil, fmt.Errorf("listing Communes: %w", err)
	}
	if err := c.List(ctx, cpas); err != nil {
		return nil, fmt.Errorf("listing CPAS: %w", err)
	}
	tenants := make([]v1alpha1.Tenant, 0, len(communes.Items)+len(cpas.Items))
	for i := range communes.Items {
		tenants = append(tenants, &communes.Items[i])
	}
	for i := range cpas.Items {
		tenants = append(tenants, &cpas.Items[i])
	}
	return tenants, nil
}
