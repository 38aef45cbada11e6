fn main() {
    let s = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let (p, d) = loyalty::analyze(&s);
    println!("{}", serde_json::to_string_pretty(&p).unwrap());
    print!("{}", loyalty::diagnostic::render(&d, "t.loy", &s));
}
