package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestLinkStepDecisions(t *testing.T) {
	const bcURL = "https://businesscentral.dynamics.com/tenant/Production?company=CRONUS%20USA,%20Inc."
	accessKey := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "odata"}, Data: map[string][]byte{"accessKey": []byte("k3y-value")}}
	withItems := func(w *stepWorld) {
		w.s.obj.Spec.BusinessCentral.ItemAvailability = &salesv1alpha1.ItemAvailability{Enabled: true,
			ODataURL: "https://bc.example:7048/BC170/OData/", Username: "CRM-ITEMS", AccessKeySecretRef: &salesv1alpha1.KeyReference{Name: "odata", Key: "accessKey"}}
	}
	cases := []struct {
		name          string
		objs          []*corev1.Secret
		setup         func(w *stepWorld)
		wantEnd       salesv1alpha1.Reason
		wantCondition salesv1alpha1.Reason
		wantWrites    string
	}{
		{name: "no row: created", wantCondition: salesv1alpha1.ReasonLinked, wantWrites: "CreateNavConnection"},
		{name: "the row as the spec asks: nothing to do", setup: func(w *stepWorld) {
			w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "CRONUS USA, Inc.", URL: bcURL}}
		}, wantCondition: salesv1alpha1.ReasonLinked},
		{name: "a row changed by hand: corrected", setup: func(w *stepWorld) {
			w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "Renamed", URL: bcURL, ODataUsername: "someone"}}
		}, wantCondition: salesv1alpha1.ReasonLinked, wantWrites: "UpdateNavConnection"},
		{name: "a row Business Central wrote is adopted, whatever the case of its hex digits", setup: func(w *stepWorld) {
			w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "CRONUS USA, Inc.", URL: strings.ToUpper(bcURL)}}
		}, wantCondition: salesv1alpha1.ReasonLinked, wantWrites: "UpdateNavConnection"},
		{name: "a row of another company is not this one's", setup: func(w *stepWorld) {
			w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "Other", URL: "https://businesscentral.dynamics.com/tenant/Production?company=Other"}}
		}, wantCondition: salesv1alpha1.ReasonLinked, wantWrites: "CreateNavConnection"},
		{name: "a URL longer than the column", setup: func(w *stepWorld) {
			w.s.obj.Spec.BusinessCentral.WebClientURL = "https://bc.example/" + strings.Repeat("x", 240)
		}, wantEnd: salesv1alpha1.ReasonInvalidURL, wantCondition: salesv1alpha1.ReasonInvalidURL},
		{name: "no businessCentral in the spec", setup: func(w *stepWorld) { w.s.obj.Spec.BusinessCentral = nil }},
		{name: "item availability fills the OData fields", objs: []*corev1.Secret{accessKey}, setup: withItems,
			wantCondition: salesv1alpha1.ReasonLinked, wantWrites: "CreateNavConnection"},
		{name: "item availability without its Secret", setup: withItems,
			wantEnd: salesv1alpha1.ReasonSecretNotFound, wantCondition: salesv1alpha1.ReasonSecretNotFound},
		{name: "the solution is not installed", setup: func(w *stepWorld) { w.s.solutionInstalled = false },
			wantEnd: salesv1alpha1.ReasonSolutionNotImported, wantCondition: salesv1alpha1.ReasonSolutionNotImported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			for _, s := range tc.objs {
				w = newStepWorld(t, s.DeepCopy())
			}
			w.s.solutionInstalled = true
			if tc.setup != nil {
				tc.setup(w)
			}
			res := w.run(stepNamed("link"))
			setSummary(w.s.obj, res)
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
			c := w.condition(salesv1alpha1.ConditionBusinessCentralLinked)
			if (tc.wantCondition == "") != (c == nil) || (c != nil && c.Reason != string(tc.wantCondition)) {
				t.Errorf("BusinessCentralLinked = %+v, want %q", c, tc.wantCondition)
			}
			if got := strings.Join(w.dv.writes, ","); got != tc.wantWrites {
				t.Errorf("writes = %q, want %q", got, tc.wantWrites)
			}
			if tc.wantWrites != "" && len(w.dv.links) == 1 && tc.objs != nil && w.dv.links[0].ODataAccessKey != "k3y-value" {
				t.Errorf("row = %+v, want the access key from the Secret", w.dv.links[0])
			}
		})
	}
}
