use crate::syntax::ast::Program; use crate::diagnostic::Diagnostic; pub fn check(_p:&Program,_s:&str)->Vec<Diagnostic>{Vec::new()}
