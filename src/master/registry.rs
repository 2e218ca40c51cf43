//! Which services this binary can run: service name → handler. The master starts only the
//! services that have a handler; the handler runs in a worker process, once per connection.

/// Serves one connection of a service with the configuration the worker was started with.
pub type Handler<C> = fn(&C, super::Connection);

pub struct Registry<C> {
    handlers: Vec<(String, Handler<C>)>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            handlers: Vec::new(),
        }
    }
}

impl<C> Registry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the handler of `service`.
    pub fn register(&mut self, service: &str, handler: Handler<C>) -> &mut Self {
        self.handlers.retain(|(name, _)| name != service);
        self.handlers.push((service.to_string(), handler));
        self
    }

    pub fn handler(&self, service: &str) -> Option<Handler<C>> {
        self.handlers
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, h)| *h)
    }
}
