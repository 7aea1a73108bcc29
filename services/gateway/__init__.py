"""HTTP gateway: starts runs, reads run state, proxies queries to the services."""
