//! Which services this binary can run: service name → handler. The master starts only the
//! services that have a handler; the handler runs in a worker process, once per connection.

/// Serves one connection of a service with the configuration the worker was started with.
pub type Handler<C> = fn(&C, super::Connection);

/// Runs once in a new worker process before it gives up root (reading TLS keys, say). An
/// error is fatal for the process.
pub type InitHook<C> = fn(&C) -> Result<(), String>;

pub struct Registry<C> {
    handlers: Vec<(String, Handler<C>)>,
    inits: Vec<(String, InitHook<C>)>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            handlers: Vec::new(),
            inits: Vec::new(),
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

    /// Registers (or replaces) the startup hook of `service`'s processes.
    pub fn register_init(&mut self, service: &str, init: InitHook<C>) -> &mut Self {
        self.inits.retain(|(name, _)| name != service);
        self.inits.push((service.to_string(), init));
        self
    }

    pub fn init(&self, service: &str) -> Option<InitHook<C>> {
        self.inits
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, h)| *h)
    }

    pub fn handler(&self, service: &str) -> Option<Handler<C>> {
        self.handlers
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, h)| *h)
    }
}
