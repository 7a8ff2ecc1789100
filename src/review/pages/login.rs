//! The login page. Its form carries the pre-login CSRF token; the password field is never
//! filled back in. Markup only.

use maud::{html, Markup, DOCTYPE};

use super::Lang;

pub fn login(lang: Lang, csrf: &str, user: &str, error: Option<&str>) -> Markup {
    let other = match lang {
        Lang::Vi => Lang::En,
        Lang::En => Lang::Vi,
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (lang.t("Đăng nhập", "Log in")) " · motcua" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                main.narrow {
                    h1 { (lang.t("Xem lại ảnh quầy", "Counter snapshot review")) }
                    p.en { (lang.t("Trung tâm Phục vụ hành chính công — chỉ dành cho cán bộ được cấp tài khoản.", "Public Administration Service Center — for staff with an account only.")) }
                    @if let Some(e) = error { p.err #login-error { (e) } }
                    form.login method="post" action="/login" {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="username" { (lang.t("Tên đăng nhập", "User name")) }
                        input #username name="username" value=(user) autocomplete="username" required autofocus;
                        label for="password" { (lang.t("Mật khẩu", "Password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        button #login-button type="submit" { (lang.t("Đăng nhập", "Log in")) }
                    }
                    p { a href={ "/login?lang=" (other.code()) } { (lang.t("English", "Tiếng Việt")) } }
                }
            }
        }
    }
}
