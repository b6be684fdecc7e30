package mqtt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/edge/mqtt"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	engine := mestest.New(t, nil).Engine
	bind := func(context.Context, *mqtt.Message) (mes.Request, error) { return mes.Request{}, mqtt.ErrUnbound }
	if _, err := mqtt.New(engine, &mqtt.Config{Broker: "tcp://127.0.0.1:1883", ClientID: "c", Site: "s1",
		Equipment: []string{"SC-01"}, Binder: bind}); err != nil {
		t.Fatalf("a valid Config: %v", err)
	}
	if _, err := mqtt.New(nil, &mqtt.Config{}); err == nil {
		t.Error("New(nil, …) gave no error")
	}
	if _, err := mqtt.New(engine, nil); !errors.Is(err, mqtt.ErrConfig) {
		t.Errorf("New(engine, nil): %v; want ErrConfig", err)
	}
	_, err := mqtt.New(engine, &mqtt.Config{Broker: "mqtt//nohost", Prefix: "a/+/b", Site: "s/1",
		Equipment: []string{"SC-01", "#"}, MaxPayload: -1, ConnectTimeout: -1, RetryMin: 2, RetryMax: 1})
	if !errors.Is(err, mqtt.ErrConfig) || !errors.Is(err, interlock.ErrInvalid) {
		t.Fatalf("bad Config: %v; want ErrConfig and ErrInvalid", err)
	}
	for _, field := range []string{"Broker", "ClientID", "Prefix", "Site", "Equipment", "Binder", "MaxPayload", "ConnectTimeout", "RetryMin"} {
		if !strings.Contains(err.Error(), "Config."+field+":") {
			t.Errorf("the error does not name %s: %v", field, err)
		}
	}
}
