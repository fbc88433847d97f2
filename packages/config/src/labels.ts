/** The labels and annotations Weft reads (Istio's names, plus weft.dev/ for embedded mode). */
export const LABEL = {
  dataplaneMode: 'istio.io/dataplane-mode',
  useWaypoint: 'istio.io/use-waypoint',
  useWaypointNamespace: 'istio.io/use-waypoint-namespace',
  waypointFor: 'istio.io/waypoint-for',
  ingressUseWaypoint: 'istio.io/ingress-use-waypoint',
  gatewayName: 'gateway.networking.k8s.io/gateway-name',
  netns: 'weft.dev/netns',
} as const;
